"""The real SmolLM2 model: generation end to end, token streaming over the websocket, a tiny fine-tune."""

import csv
import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection

from copywriter import runtime, services
from copywriter.ml import lm
from copywriter.models import CopywriterModel, DescriptionDraft
from copywriter.tasks import copywriter_generate, copywriter_train
from ecomops.ml import llm
from ecomops.models import Job, JobStatus, Product
from ecomops.routing import websocket_urlpatterns
from ecomops.services.jobs import job_cancel
from tests.factories import ProductFactory

pytestmark = pytest.mark.slow


def _model_writer(store):
    """These tests are about the language-model writer; a store's default is the planner (README)."""
    store.settings = {**(store.settings or {}), "copywriter": {"writer": "model"}}
    store.save()
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "copywriter" / "tiny_catalog.csv"


@pytest.mark.django_db
def test_bulk_generation_with_real_model_grounds_every_draft(store, owner):
    store.settings = {"copywriter": {"n_candidates": 2, "writer": "model"}}
    store.save()
    ProductFactory(store=store, sku="A1", title="Oxford Shirt", brand="Kestrel",
                   attributes={"colour": "Navy blue", "material": "Cotton", "fit": "Slim fit"})
    ProductFactory(store=store, sku="B2", title="Steel Water Bottle", brand="Acme",
                   attributes={"material": "Stainless steel", "capacity": "750 ml", "colour": "Black"})
    job = services.generation_start(store=store, user=owner, skus=["A1", "B2"], options={"length": "short"},
                                    max_new_tokens=24)
    assert copywriter_generate.run(str(job.pk)) == "succeeded"
    job.refresh_from_db()
    drafts = list(DescriptionDraft.objects.for_store(store).order_by("product__sku"))
    assert [d.product.sku for d in drafts] == ["A1", "B2"]
    assert sorted(job.result["drafts"]) == sorted(d.pk for d in drafts) and job.result["new_tokens"] > 0
    for d in drafts:
        assert d.model_label == lm.BASE_MODEL_NAME and d.raw_text  # the model really wrote something
        assert len(d.meta_title) <= 60 and len(d.meta_description) <= 155 and d.bullets
        # the grounding step guarantees coverage; whatever is left unsupported is reported, not hidden
        assert d.missing_attributes == []
        assert isinstance(d.unsupported_facts, list)
        assert d.status == "draft" and d.product.description == ""


@pytest.mark.django_db(transaction=True)
async def test_interactive_generation_streams_tokens_over_the_websocket(store, owner):
    await database_sync_to_async(_model_writer)(store)
    product = await database_sync_to_async(ProductFactory)(
        store=store, sku="S1", title="Linen Shirt",
        # enough facts for a plan of several sentences (the stand-in groups two facts into one sentence)
        attributes={"colour": "White", "material": "Linen", "fit": "Relaxed", "sleeve": "Long",
                    "care": "Machine washable at 30 °C", "pockets": "1 chest pocket"})
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{store.slug}/live/")
    comm.scope["user"] = owner
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from())["type"] == "hello"
    job = await database_sync_to_async(services.generation_start)(
        store=store, user=owner, skus=["S1"], options={"length": "short"}, stream=True, max_new_tokens=12)
    outcome = await sync_to_async(copywriter_generate.run, thread_sensitive=False)(str(job.pk))
    assert outcome == "succeeded"
    tokens, draft = [], None
    try:
        while draft is None:
            msg = await comm.receive_json_from(timeout=10)
            assert msg["type"] != "copywriter.token"  # the raw token stream never leaves the worker
            if msg["type"] == "copywriter.sentence" and msg["job_id"] == str(job.pk):
                tokens.append(msg["text"])  # vetted sentences, in order
            elif msg["type"] == "copywriter.draft" and msg["draft"]["job_id"] == str(job.pk):
                draft = msg["draft"]
    finally:
        await comm.disconnect()
    assert len(tokens) >= 2 and draft["product_id"] == product.pk
    saved = await database_sync_to_async(DescriptionDraft.objects.get)(pk=draft["id"])
    # what the browser was shown is exactly the saved description, sentence by sentence
    assert " ".join(t.strip() for t in tokens) == saved.description.strip()


@pytest.mark.django_db(transaction=True)
def test_cancel_lands_mid_batch_and_keeps_finished_drafts(store, owner):
    """A real bulk job in a worker thread; cancel as soon as the first draft lands. The batch being decoded
    stops within about a second (the stop check polls while generating), earlier drafts stay, nothing is
    published."""
    store.settings = {"copywriter": {"n_candidates": 1, "writer": "model"}}
    store.save()
    for sku in ("C1", "C2", "C3"):
        ProductFactory(store=store, sku=sku, title=f"Canvas Tote {sku}", description="",
                       attributes={"colour": "Olive green", "material": "Canvas"})
    job = services.generation_start(store=store, user=owner, skus=["C1", "C2", "C3"], options={"length": "short"},
                                    max_new_tokens=96)
    Job.objects.filter(pk=job.pk).update(params={**job.params, "batch_size": 1})
    outcome = {}

    def work():
        try:
            outcome["r"] = copywriter_generate.run(str(job.pk))
        finally:
            connection.close()  # this thread's own connection, so the test database can be dropped

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 120
    while not DescriptionDraft.objects.filter(job=job).exists() and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    cancelled_at = time.monotonic()
    job_cancel(job=job)
    worker.join(timeout=120)
    stop_s = time.monotonic() - cancelled_at
    job.refresh_from_db()
    assert outcome["r"] == "cancelled" and job.status == JobStatus.CANCELLED
    assert DescriptionDraft.objects.filter(job=job).count() == 1  # the batch in flight was dropped
    assert stop_s < 10  # well before the next 96-token batch could finish
    assert not Product.objects.for_store(store).exclude(description="").exists()


@pytest.mark.django_db
def test_tiny_real_fine_tune_produces_a_loadable_version(store, owner, settings):
    with FIXTURE.open() as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            ProductFactory(store=store, sku=f"T{i}", title=row["title"], brand=row["brand"],
                           category=row["category"], attributes=json.loads(row["attributes"]),
                           description=row["description"])
    job = services.training_start(store=store, user=owner, method="lora", max_steps=2)
    job.params.update(batch_size=4, eval_every=1, max_len=128)
    Job.objects.filter(pk=job.pk).update(params=job.params)
    assert copywriter_train.run(str(job.pk)) == "succeeded", Job.objects.get(pk=job.pk).error
    version = CopywriterModel.objects.for_store(store).get()
    assert version.metrics["steps"] == 2 and version.metrics["n_val"] > 0
    assert [p["step"] for p in version.loss_curve][:3] == [0, 1, 2]
    assert version.metrics["val_loss"] <= version.metrics["initial_val_loss"]
    # the torch weights still load (training's side) and the llama.cpp export is what generation serves
    model, tok = lm.load_lm(settings.ECOMOPS_MODEL_DIR, version.path)
    out = lm.generate_batch(model, tok, [lm.chat_prompt(tok, "Describe a red shirt.")], max_new_tokens=5,
                            temperature=0.0)
    assert out.generations[0].new_tokens > 0
    assert (Path(version.path) / "model.gguf").exists() and version.metrics["gguf"] == "model.gguf"
    services.model_activate(store=store, version=version)
    assert CopywriterModel.objects.for_store(store).get().is_active
    served = runtime.language_model(runtime.active_version(store))
    assert served.engine == "llama.cpp" and served.model_path == str(Path(version.path) / "model.gguf")
    assert served.label == version.label and served.chat([{"role": "user", "content": "Describe a red shirt."}],
                                                          max_tokens=5)
    services.model_activate(store=store, version=None)  # roll back: the base serves again
    assert runtime.active_version(store) is None and runtime.language_model(None).label == llm.BASE_LABEL
    assert Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    lm.clear_cache()
    shutil.rmtree(version.path, ignore_errors=True)


@pytest.mark.django_db
def test_evaluate_command_on_a_merchant_csv(tmp_path, capsys):
    out = tmp_path / "eval.json"
    call_command("evaluate_copywriter", "--csv", str(FIXTURE), "--limit", "5", "--systems", "template",
                 "--json", str(out))
    data = json.loads(out.read_text())
    row = data["systems"][0]
    assert row["system"] == "template" and row["attribute_coverage"] == 1.0 and row["unsupported_fact_rate"] == 0.0
    assert 0 < row["rouge_l"] < 1
    assert "rouge_l" in capsys.readouterr().out


def test_evaluate_command_names_the_bad_line(tmp_path):
    from django.core.management.base import CommandError

    bad = tmp_path / "bad.csv"
    bad.write_text('title,brand,category,attributes,description\nShirt,A,B,"{not json",text\n')
    with pytest.raises(CommandError, match=r"bad.csv:2"):
        call_command("evaluate_copywriter", "--csv", str(bad), "--systems", "template")
