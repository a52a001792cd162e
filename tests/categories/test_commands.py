"""Commands (evaluate_categories, evaluate_attributes, suggest_categories) and the re-score job's progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from categories.models import CategorySuggestion
from categories.services import rescore_start
from categories.tasks import categories_rescore
from ecomops.models import Job, JobStatus
from tests.categories.conftest import make_catalogue
from tests.factories import ProductFactory

FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures"


@pytest.mark.slow
def test_evaluate_categories_on_the_multidomain_fixture(tmp_path, capsys):
    out = tmp_path / "cat.json"
    call_command("evaluate_categories", csv=FIXTURES / "copywriter" / "multidomain.csv", levels=1, json=out)
    result = json.loads(out.read_text())
    for key in ("accuracy_l1", "accuracy_l2", "macro_f1", "coverage", "accuracy_at_threshold"):
        assert key in result["ours"]
    for key in ("accuracy_l1", "accuracy_l2", "macro_f1"):
        assert key in result["baseline"]
    assert result["data"]["test"] >= 10
    # 17 top-level categories, many with 1-3 products: chance is ~1/17; a working model is far above it
    assert result["ours"]["accuracy_l1"] >= 0.4
    assert "TF-IDF + SVM" in capsys.readouterr().out


def test_evaluate_categories_rejects_bad_input(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name_of_thing,price\nx,1\n")
    with pytest.raises(CommandError, match="title"):
        call_command("evaluate_categories", csv=bad)
    nocat = tmp_path / "nocat.csv"
    nocat.write_text("title,price\nx,1\n")
    with pytest.raises(CommandError, match="category"):
        call_command("evaluate_categories", csv=nocat)
    with pytest.raises(CommandError, match="no column"):
        call_command("evaluate_categories", csv=nocat, category_columns="Gender")
    few = tmp_path / "few.csv"
    few.write_text("title,category\na,X\nb,Y\n")
    with pytest.raises(CommandError, match="at least 20"):
        call_command("evaluate_categories", csv=few)
    with pytest.raises(CommandError, match="No store"):
        call_command("evaluate_categories", store="nope")


def test_evaluate_attributes_writes_the_json(tmp_path):
    out = tmp_path / "attr.json"
    call_command("evaluate_attributes", csv=FIXTURES / "categories" / "attributes.csv", json=out)
    result = json.loads(out.read_text())
    assert set(result["per_attribute"]) >= {"colour", "material", "size", "capacity"}
    assert result["micro"]["support"] > 60
    bad = tmp_path / "bad.csv"
    bad.write_text('title,attributes\nx,"{not json"\n')
    with pytest.raises(CommandError, match=":2:"):
        call_command("evaluate_attributes", csv=bad)


@pytest.mark.slow
def test_suggest_categories_command_runs_the_job_in_process(store, capsys):
    make_catalogue(store)
    ProductFactory(store=store, sku="NEW", title="Noise cancelling wireless headphones black", category="",
                   description="Soft ear cushions and rich bass.", attributes={})
    call_command("suggest_categories", store="acme", verbosity=0)
    job = Job.objects.for_store(store).get()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100
    assert job.result["categories"]["source"] == "store"
    assert CategorySuggestion.objects.for_store(store).get(product__sku="NEW").path == "Audio > Headphones"
    assert "Categories (store model" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No store"):
        call_command("suggest_categories", store="nope")
    with pytest.raises(CommandError, match="target_precision"):
        call_command("suggest_categories", store="acme", target_precision=2.0)


@pytest.mark.slow
def test_rescore_job_reports_progress_on_the_row(store, other_store):
    make_catalogue(store)
    make_catalogue(other_store, prefix="R")
    job = rescore_start(store=store, params={"attributes": False})
    seen = []
    from ecomops.services.jobs import job_start, job_succeed

    claimed = job_start(job_id=job.pk)
    result = categories_rescore.job_fn(claimed, attributes=False, listener=lambda pct, msg: seen.append((pct, msg)))
    job_succeed(job=claimed, result=result)
    assert seen and seen[-1][0] == 100
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)
    assert any("training on 36 categorised products" in m for _, m in seen)
    row = Job.objects.get(pk=job.pk)
    assert row.status == JobStatus.SUCCEEDED and row.result["categories"]["products"] == 36
    assert not Job.objects.for_store(other_store).exists()
