"""train_support and evaluate_support on small fixtures (the real-data run is documented in the report)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from ecomops.models import Job, JobStatus
from support.models import ClassifierVersion

from .conftest import FIXTURES

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.mark.django_db(transaction=True)  # the job runs in a thread of the command, on its own connection
def test_train_support_runs_as_a_job_and_creates_an_active_version(store, capsys):
    call_command("train_support", "--store", store.slug, "--bitext", str(FIXTURES / "intents_small.csv"))
    version = ClassifierVersion.objects.for_store(store).get()
    assert version.is_active and version.metrics["examples"] > 60
    job = Job.objects.for_store(store).get(kind="support_train")
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.result["version"] == 1
    assert version.job_id == job.pk
    assert "Classifier v1 active" in capsys.readouterr().out


def test_train_support_names_the_bad_line(store, tmp_path):
    bad = tmp_path / "intents.csv"
    bad.write_text("text,intent\nwhere is my order,track_order\nhello,not_an_intent\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 3"):
        call_command("train_support", "--store", store.slug, "--bitext", str(bad))


def test_evaluate_support_prints_side_by_side_and_writes_json(tmp_path, capsys):
    paraphrases = tmp_path / "para.json"
    paraphrases.write_text(json.dumps({"How long does shipping take?": ["how many days until my parcel comes"],
                                       "What payment methods do you accept?": ["can I pay by paypal"]}))
    out = tmp_path / "eval.json"
    call_command("evaluate_support", "--bitext", str(FIXTURES / "intents_small.csv"), "--faq",
                 str(FIXTURES / "faq_small.json"), "--paraphrases", str(paraphrases), "--generate", "0", "--answers", "none",
                 "--intents", str(FIXTURES / "intents_small.csv"), "--json", str(out))
    printed = capsys.readouterr().out
    assert "TF-IDF + LR (baseline)" in printed and "MiniLM + BM25 (ours)" in printed
    report = json.loads(out.read_text())
    assert report["intent"]["ours"]["accuracy"] > 0.8
    assert report["retrieval"]["ours"]["queries"] == 10 and report["retrieval"]["ours"]["recall@5"] == 1.0
    assert report["handoff_out_of_scope"]["precision"] is not None


def test_evaluate_support_scores_a_test_file_it_never_trains_on(tmp_path, capsys):
    out = tmp_path / "eval.json"
    call_command("evaluate_support", "--bitext", str(FIXTURES / "intents_small.csv"), "--faq", str(FIXTURES / "faq_small.json"),
                 "--generate", "0", "--answers", "none", "--test-intents", str(FIXTURES / "intents_unseen.csv"),
                 "--json", str(out))
    report = json.loads(out.read_text())
    test_file = report["intent"]["test_file"]
    assert test_file["n"] == 110 and 0.0 <= test_file["accuracy"] <= 1.0
    # intents_small.csv knows 8 intents; the file asks about many more, so errors are reported, not hidden
    assert len(test_file["errors"]) == round((1 - test_file["accuracy"]) * test_file["n"])
    printed = capsys.readouterr().out
    assert "intents_unseen.csv" in printed and "never trained on" in printed


def test_evaluate_support_rejects_a_bad_test_file(tmp_path):
    bad = tmp_path / "unseen.csv"
    bad.write_text("text,intent\nwhere is my parcel,track_order\n,track_order\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 3"):
        call_command("evaluate_support", "--bitext", str(FIXTURES / "intents_small.csv"), "--generate", "0",
                     "--answers", "none", "--test-intents", str(bad))
