# Where the database offers pgvector (the embedded PostgreSQL 18 does; the machine's PostgreSQL here does not), the
# documents get a vector(384) column beside the bytea one and vector search runs in SQL (search/pgvector.py).
# Elsewhere, or where this role may not create the extension, nothing changes and search stays on numpy.

from django.db import migrations

COLUMN = "embedding_vec"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if cursor.fetchone() is None:
            return
        cursor.execute("SAVEPOINT search_pgvector")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception:  # noqa: BLE001 - no privilege to create it: the numpy path serves this database
            cursor.execute("ROLLBACK TO SAVEPOINT search_pgvector")
            return
        cursor.execute("RELEASE SAVEPOINT search_pgvector")
        cursor.execute(f"ALTER TABLE search_searchdocument ADD COLUMN IF NOT EXISTS {COLUMN} vector(384)")
        # the embedded_hash the column was copied at: unequal (or null) means copy again (search.pgvector.sync)
        cursor.execute("ALTER TABLE search_searchdocument ADD COLUMN IF NOT EXISTS embedded_vec_hash varchar(64)")
        # HNSW over cosine distance; queries walk it with pgvector 0.8's iterative scan (search/pgvector.py)
        cursor.execute(f"CREATE INDEX IF NOT EXISTS searchdoc_vec_hnsw ON search_searchdocument "
                       f"USING hnsw ({COLUMN} vector_cosine_ops)")


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS searchdoc_vec_hnsw")
        cursor.execute(f"ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS {COLUMN}")
        cursor.execute("ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS embedded_vec_hash")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
