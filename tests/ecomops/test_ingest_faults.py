"""Importers on hostile files: NUL characters, year-0001 dates, empty files, broken CSV; ANALYZE after a load.

Each bad file ends in a CommandError (non-zero exit, no traceback) that names the line, and nothing is written.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ecomops.models import Event, Order, Product
from tests.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.quick]


def run_failing(command: str, path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(command, str(path), "--store", "acme", "--no-progress", *args, stdout=out, stderr=err)
    return str(caught.value), err.getvalue()


def test_a_nul_in_a_title_names_the_line(store, tmp_path):
    bad = tmp_path / "products.csv"
    bad.write_text("sku,title,price\nA-1,Good shirt,9.90\nA-2,Bad\x00shirt,9.90\n", encoding="utf-8")
    message, err = run_failing("import_catalog", bad)
    assert "nothing was written" in message
    assert "line 3, column title: contains a NUL character" in err
    assert not Product.objects.for_store(store).exists()


def test_a_nul_in_a_jsonl_event_names_the_line(store, tmp_path):
    bad = tmp_path / "events.jsonl"
    bad.write_text('{"type": "view", "occurred_at": "2026-03-01T10:00:00Z", "session_id": "s1"}\n'
                   '{"type": "view", "occurred_at": "2026-03-01T10:00:00Z", "session_id": "s\\u00002"}\n',
                   encoding="utf-8")
    _, err = run_failing("import_events", bad)
    assert "line 2, column session_id: contains a NUL character" in err
    assert not Event.objects.for_store(store).exists()


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_year_0001_or_9999_date_names_the_line(store, tmp_path, when):
    CustomerFactory(store=store, external_id="C1")
    ProductFactory(store=store, sku="TS-1")
    bad = tmp_path / "orders.csv"
    bad.write_text("number,customer,placed_at,sku,quantity,unit_price\n"
                   "1,C1,2026-02-01T09:00:00Z,TS-1,1,5.00\n"
                   f"2,C1,{when},TS-1,1,5.00\n", encoding="utf-8")
    _, err = run_failing("import_orders", bad)
    assert "line 3, column placed_at:" in err and "outside the years" in err
    assert not Order.objects.for_store(store).exists()


@pytest.mark.parametrize("content", ["", "sku,title,price\n"])
def test_an_empty_file_exits_non_zero_with_a_clear_message(store, tmp_path, content):
    empty = tmp_path / "products.csv"
    empty.write_text(content, encoding="utf-8")
    message, _ = run_failing("import_catalog", empty)
    assert "no rows to import" in message


def test_a_csv_field_past_the_parser_limit_names_the_line(store, tmp_path):
    bad = tmp_path / "products.csv"
    bad.write_text("sku,title\nA-1,ok\nA-2," + "x" * 200_000 + "\n", encoding="utf-8")  # csv's limit: 131,072
    message, _ = run_failing("import_catalog", bad)
    assert "line 3: not valid CSV" in message and "field larger than field limit" in message
    assert not Product.objects.for_store(store).exists()


@pytest.mark.django_db(transaction=True)
def test_a_successful_import_analyses_the_tables_it_filled(store, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE statistics are PostgreSQL's")
    good = tmp_path / "products.csv"
    good.write_text("sku,title,price\n" + "".join(f"P-{i},Shirt {i},9.90\n" for i in range(50)), encoding="utf-8")

    def manual_analyses() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's counters, visible now
        with connection.cursor() as cursor:
            cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s",
                           [Product._meta.db_table])
            return cursor.fetchone()[0]

    before = manual_analyses()
    call_command("import_catalog", str(good), "--store", "acme", "--no-progress", stdout=io.StringIO())
    assert Product.objects.for_store(store).count() == 50
    assert manual_analyses() == before + 1
