# Written for Django 5.2 (the same operations makemigrations produces, plus pg_trgm first).

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('ecomops', '0002_job_worker_enqueued_at'),
    ]

    operations = [
        # pg_trgm ships with PostgreSQL (contrib) on the machine's server and the embedded one alike. Vectors are a
        # bytea column searched in numpy (search/selectors.py), so nothing here needs pgvector.
        TrigramExtension(),
        migrations.CreateModel(
            name='SearchIndexState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(default=0)),
                ('indexed_at', models.DateTimeField(blank=True, null=True)),
                ('documents', models.PositiveIntegerField(default=0)),
                ('embedded', models.PositiveIntegerField(default=0)),
                ('store', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='search_index', to='ecomops.store')),
            ],
        ),
        migrations.CreateModel(
            name='SearchSynonym',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('terms', models.CharField(help_text="Comma-separated equivalents, or 'a, b => c' (one-way)", max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='ecomops.store')),
            ],
            options={'ordering': ['terms'], 'abstract': False},
        ),
        migrations.CreateModel(
            name='SearchEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('query', models.CharField(max_length=200)),
                ('results', models.PositiveIntegerField()),
                ('source', models.CharField(choices=[('storefront', 'Storefront'), ('dashboard', 'Dashboard')], default='storefront', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='ecomops.store')),
            ],
            options={
                'indexes': [models.Index(fields=['store', 'source', 'created_at'], name='searchevent_store_time')],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='SearchDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title_text', models.TextField(help_text='Title, brand and category, lowercased: what trigram similarity reads')),
                ('meta_text', models.TextField(blank=True, help_text='Brand, category and attribute values')),
                ('body_text', models.TextField(blank=True, help_text='Description (truncated)')),
                ('tsv', django.contrib.postgres.search.SearchVectorField(null=True)),
                ('content_hash', models.CharField(max_length=64)),
                ('embedding', models.BinaryField(help_text='float32 x 384, unit length (ecomops.ml.embedder)', null=True)),
                ('embedded_hash', models.CharField(blank=True, max_length=64)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('product', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='search_document', to='ecomops.product')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='ecomops.store')),
            ],
            options={
                'indexes': [
                    django.contrib.postgres.indexes.GinIndex(fields=['tsv'], name='searchdoc_tsv'),
                    django.contrib.postgres.indexes.GinIndex(fields=['title_text'], name='searchdoc_title_trgm', opclasses=['gin_trgm_ops']),
                    models.Index(fields=['store', 'embedded_hash'], name='searchdoc_store_embedded'),
                ],
                'abstract': False,
            },
        ),
    ]
