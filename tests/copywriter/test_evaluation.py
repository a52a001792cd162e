"""evaluate_copywriter: the JSON carries every draft of every system, judged by checks the pipeline does not own."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from copywriter.ml import evaluation as ev
from copywriter.ml.generate import Options

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "copywriter" / "multidomain.csv"
pytestmark = pytest.mark.django_db


def test_json_has_every_draft_of_every_system_beside_the_metrics(tmp_path):
    out = tmp_path / "eval.json"
    call_command("evaluate_copywriter", csv=str(FIXTURE), split="all", limit=6, systems="template,human",
                 json_path=str(out))
    data = json.loads(out.read_text())
    assert data["n"] == 6 and [s["system"] for s in data["systems"]] == ["template", "human"]
    assert data["relevance_calibration"]["derivation"]["source"]
    for s in data["systems"]:
        for key in ("offtopic_sentence_rate", "spec_dump_rate", "empty_drafts", "looping_drafts",
                    "unsupported_fact_rate", "rouge_l", "contradicting_sentences"):
            assert key in s
        assert len(s["drafts"]) == 6
        d = s["drafts"][0]
        assert set(d) >= {"title", "facts", "text"} and isinstance(d["facts"], dict) and d["text"]
    human = data["systems"][1]
    assert human["rouge_l"] is None and human["drafts"][0]["text"] == ev.load_examples(FIXTURE)[0].description


def test_the_judges_see_what_the_old_pipeline_passed():
    examples = ev.load_examples(FIXTURE)[:3]
    texts = ["A massive explosion took place there that day. Awesome products!",
             "Details: colour: black, connectivity: Bluetooth 5.3, charging: USB-C.",
             "with a double sofa bed with a double sofa bed with a double sofa bed."]
    row = ev.SystemResult("old", texts).metrics(examples, Options(length="short"))
    assert row["offtopic_sentences"] >= 1 and row["spec_dump_rate"] == round(1 / 3, 4)
    assert row["looping_drafts"] == 1 and row["empty_drafts"] == 0
    empty = ev.SystemResult("empty", ["", "", ""]).metrics(examples, Options(length="short"))
    assert empty["empty_drafts"] == 3


def test_multidomain_fixture_is_what_the_issue_asks_for():
    examples = ev.load_examples(FIXTURE)
    assert len(examples) >= 60
    roots = {e.facts.category.split(">")[0].strip() for e in examples}
    assert {"Electronics", "Home & Kitchen", "Beauty", "Pet Supplies", "Sports", "Furniture"} <= roots
    assert all(40 <= len(e.description.split()) <= 90 for e in examples)


def test_bad_arguments_fail_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text('title,brand,category,attributes,description\nA,B,C,"{not json",Text\n')
    with pytest.raises(CommandError, match=r"bad.csv:2: attributes is not a JSON object"):
        call_command("evaluate_copywriter", csv=str(bad))
    with pytest.raises(CommandError, match="Unknown system"):
        call_command("evaluate_copywriter", csv=str(FIXTURE), systems="template,gpt")
    with pytest.raises(CommandError, match="no such file"):
        call_command("evaluate_copywriter", csv=str(tmp_path / "missing.csv"))
