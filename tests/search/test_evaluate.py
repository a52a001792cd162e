"""evaluate_search on a tiny judged catalogue (real MiniLM), and its input errors."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.management import CommandError, call_command

from ecomops.models import Store

pytestmark = [pytest.mark.django_db]

ROWS = [
    ("Auralis Compact Earbuds, black", "Electronics > Audio", "Auralis", '{"colour": "black"}'),
    ("Auralis Compact Earbuds, white", "Electronics > Audio", "Auralis", '{"colour": "white"}'),
    ("Auralis Wireless headphones, black", "Electronics > Audio", "Auralis", '{"colour": "black"}'),
    ("Copperleaf Kettle, steel", "Home > Kitchen", "Copperleaf", ""),
    ("Summit Kettlebell 16 kg", "Sports > Fitness", "Summit", ""),
    ("Stride Yoga mat, teal", "Sports > Fitness", "Stride", ""),
]


def write(path, header, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.slow
def test_evaluate_search_writes_the_metrics(tmp_path, capsys):
    catalog = write(tmp_path / "c.csv", ["title", "category", "brand", "attributes"], ROWS)
    queries = write(tmp_path / "q.csv", ["query", "relevant", "kind"], [
        ("earbuds black", "Auralis Compact Earbuds, black", "attribute"),
        ("wireles headphnes", "Auralis Wireless headphones, black", "typo"),
        ("kettle", "Copperleaf Kettle, steel", "partial"),
        ("auralis earbuds", "Auralis Compact Earbuds, black|Auralis Compact Earbuds, white", "partial"),
    ])
    out = tmp_path / "r.json"
    stores_before = Store.objects.count()
    call_command("evaluate_search", "--catalog", str(catalog), "--queries", str(queries), "--json", str(out),
                 verbosity=0)
    result = json.loads(out.read_text())
    for key in ("ours", "lexical", "substring"):
        assert {"ndcg_10", "recall_10", "latency_p50_ms", "latency_p95_ms"} <= set(result[key])
    assert result["n_queries"] == 4
    assert result["ours"]["ndcg_10"] == 1.0  # every query's relevant products first
    assert result["lexical"]["ndcg_10"] < 1.0  # the typo query finds nothing by full text
    assert result["substring"]["ndcg_10"] == 0.25  # only "kettle" is a substring of a title
    assert "ours" in capsys.readouterr().out
    assert Store.objects.count() == stores_before  # the scratch store is gone


@pytest.mark.parametrize("header, rows, message", [
    (["name", "category"], [("x", "y")], "missing column(s) title"),
    (["title", "category", "attributes"], [("x", "y", "{bad")], "line 2: attributes is not JSON"),
    (["title", "category", "price"], [("x", "y", "cheap")], "line 2: price 'cheap' is not a number"),
])
def test_bad_catalogue_files_name_the_problem(tmp_path, header, rows, message):
    catalog = write(tmp_path / "c.csv", header, rows)
    queries = write(tmp_path / "q.csv", ["query", "relevant"], [("x", "x")])
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("evaluate_search", "--catalog", str(catalog), "--queries", str(queries), verbosity=0)


def test_bad_query_file(tmp_path):
    catalog = write(tmp_path / "c.csv", ["title", "category"], [("x", "y")])
    queries = write(tmp_path / "q.csv", ["query", "relevant"], [("mug", "")])
    with pytest.raises(CommandError, match="line 2: query 'mug' has no relevant titles"):
        call_command("evaluate_search", "--catalog", str(catalog), "--queries", str(queries), verbosity=0)
