"""`manage.py evaluate_recommender`: any CSV, a store's own events and the real datasets, side by side, with
the table, the JSON, the stored report and the honest verdict."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from recommender.ml.data import DATASET_LOADERS, leave_last_out, load_interactions_csv
from recommender.models import EvaluationReport
from recommender.services.evaluation import datasets_dir, honest_verdict
from tests.recommender.rec_data import build_rec_store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "recommender"
JSON_KEYS = {"model", "recall@10", "recall@20", "ndcg@10", "ndcg@20", "mrr", "coverage", "train_seconds"}


@pytest.mark.django_db
@pytest.mark.quick
def test_csv_side_by_side_table_json_and_stored_report(tmp_path):
    out, path = StringIO(), tmp_path / "eval.json"
    call_command("evaluate_recommender", "--dataset", str(FIXTURES / "interactions.csv"),
                 "--models", "popularity", "itemknn", "ease", "--no-tune", "--json", str(path),
                 stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "60 users" in text and "60 test users" in text
    for name in ("popularity", "itemknn", "ease"):
        assert any(line.startswith(name) for line in text.splitlines())
    rows = json.loads(path.read_text())
    assert [r["model"] for r in rows] == ["popularity", "itemknn", "ease"]
    assert all(JSON_KEYS <= set(r) for r in rows)
    by = {r["model"]: r for r in rows}
    assert by["ease"]["ndcg@10"] > by["popularity"]["ndcg@10"]  # the planted tastes are learnable
    report = EvaluationReport.objects.latest("created_at")
    assert report.store is None and report.report["verdict"]["winner"] in {"itemknn", "ease"}


@pytest.mark.django_db
@pytest.mark.quick
def test_store_events_as_dataset(store):
    build_rec_store(store)
    out = StringIO()
    call_command("evaluate_recommender", "--dataset", "acme", "--models", "popularity", "itemknn", "--no-tune",
                 stdout=out, stderr=StringIO())
    assert "40 users" in out.getvalue()
    assert EvaluationReport.objects.get().store == store


@pytest.mark.django_db
@pytest.mark.quick
def test_bad_input_names_the_line_and_exits_non_zero(tmp_path):
    with pytest.raises(CommandError, match=r"bad_timestamp.csv:4: unreadable timestamp 'next tuesday'"):
        call_command("evaluate_recommender", "--dataset", str(FIXTURES / "bad_timestamp.csv"), "--models", "popularity",
                     stdout=StringIO(), stderr=StringIO())
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("customer,sku\n1,2\n")
    with pytest.raises(CommandError, match="needs columns user_id, item_id, timestamp"):
        call_command("evaluate_recommender", "--dataset", str(wrong), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="neither a known dataset"):
        call_command("evaluate_recommender", "--dataset", "no-such-thing", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="MODEL.PARAM=VALUE"):
        call_command("evaluate_recommender", "--dataset", str(FIXTURES / "interactions.csv"), "--set", "oops",
                     stdout=StringIO(), stderr=StringIO())
    assert not EvaluationReport.objects.exists()


@pytest.mark.quick
def test_event_types_weigh_the_matrix_and_repeats_collapse():
    data = load_interactions_csv(FIXTURES / "interactions.csv")
    assert data.n_users == 60 and len(data) == 300
    m = data.matrix()
    u, i = data.user_ids.index("u000"), data.item_ids.index("item05")
    assert m[u, i] == 5.0  # a purchase


@pytest.mark.quick
def test_honest_verdict():
    rows = [{"model": "ease", "ndcg@10": 0.10}, {"model": "sasrec", "ndcg@10": 0.104}, {"model": "popularity", "ndcg@10": 0.01}]
    v = honest_verdict(rows)
    assert v["winner"] == "sasrec" and v["best_baseline"] == "ease" and v["goal_met"] is False
    assert "does NOT meet" in v["summary"] and v["ndcg10_lift"] == pytest.approx(0.04)
    v = honest_verdict([{"model": "ease", "ndcg@10": 0.10}, {"model": "sasrec", "ndcg@10": 0.09}])
    assert v["winner"] == "ease" and v["goal_met"] is False
    v = honest_verdict([{"model": "ease", "ndcg@10": 0.0}, {"model": "sasrec", "ndcg@10": 0.0}])  # tiny data
    assert v["ndcg10_lift"] is None and v["goal_met"] is False and "no relative lift" in v["summary"]
    json.dumps(v, allow_nan=False)  # storable in a JSONField


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DATASET_LOADERS))
def test_real_datasets_load_and_split_without_leaks(name):
    folder = datasets_dir() / name
    if not folder.exists():
        pytest.skip(f"{folder} is absent (../shared/datasets is not staged on this machine)")
    data = DATASET_LOADERS[name](folder)
    assert data.n_users > 0 and data.n_items > 0
    if name == "amazon-grocery-5core":
        assert (data.n_users, data.n_items, len(data)) == (14681, 8687, 121892)  # as PROVENANCE.md states
        assert len(data.item_category) == 8713
    split = leave_last_out(data)
    held = dict(zip(split.test_users.tolist(), split.test_ts.tolist(), strict=True))
    train_ts_max = np.full(data.n_users, -1, dtype=np.int64)
    np.maximum.at(train_ts_max, split.train.user, split.train.ts)
    for user, ts in held.items():
        assert train_ts_max[user] <= ts
