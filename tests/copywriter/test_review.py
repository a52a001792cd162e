"""Review workflow, permissions, human-description protection, history + restore, API, tenancy, bad input."""

import pytest
from django.utils import timezone

from copywriter import services
from copywriter.models import DescriptionDraft, DescriptionRevision, DraftStatus
from copywriter.services.review import NotAllowed
from ecomops.models import Job, JobStatus
from ecomops.services.jobs import jobs_reap_stale
from tests.factories import ProductFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]

ATTRS = {"colour": "Navy blue", "material": "Cotton"}


def make_draft(store, *, description="A navy cotton shirt.", unsupported=None, product=None, **kw):
    product = product or ProductFactory(store=store, title="Oxford Shirt", attributes=ATTRS, description="")
    return DescriptionDraft.objects.create(
        store=store, product=product, description=description, source="model", model_label="smollm2-135m-instruct",
        unsupported_facts=unsupported or [], covered_attributes=["colour", "material"], **kw)


def test_approve_then_publish_writes_description_and_history(store, owner):
    draft = make_draft(store)
    with pytest.raises(ValueError, match="approve it first"):
        services.draft_publish(draft=draft, user=owner)
    services.draft_approve(draft=draft, user=owner)
    services.draft_publish(draft=draft, user=owner)
    draft.refresh_from_db()
    draft.product.refresh_from_db()
    assert draft.status == DraftStatus.PUBLISHED
    assert draft.product.description == "A navy cotton shirt."
    rev = DescriptionRevision.objects.for_store(store).get(product=draft.product)
    assert rev.source == "model" and rev.model_label == "smollm2-135m-instruct" and rev.author == owner


def test_analyst_cannot_approve_or_publish(store, analyst, owner):
    draft = make_draft(store)
    with pytest.raises(NotAllowed):
        services.draft_approve(draft=draft, user=analyst)
    services.draft_approve(draft=draft, user=owner)
    with pytest.raises(NotAllowed):
        services.draft_publish(draft=draft, user=analyst)


def test_unsupported_facts_block_approval_unless_acknowledged(store, manager):
    draft = make_draft(store, description="A copper shirt.", unsupported=[{"kind": "material", "text": "copper"}])
    with pytest.raises(ValueError, match="copper"):
        services.draft_approve(draft=draft, user=manager)
    services.draft_approve(draft=draft, user=manager, allow_unsupported=True)
    assert DescriptionDraft.objects.get(pk=draft.pk).status == DraftStatus.APPROVED


def test_edit_rechecks_facts_and_reject_needs_reason(store, owner):
    draft = make_draft(store)
    draft = services.draft_edit(draft=draft, user=owner, description="A navy shirt in steel, 5 year warranty.")
    texts = [f["text"] for f in draft.unsupported_facts]
    assert "steel" in texts and any("warranty" in t for t in texts)
    assert draft.status == DraftStatus.EDITED and "material" in draft.missing_attributes
    with pytest.raises(ValueError, match="reason"):
        services.draft_reject(draft=draft, user=owner, reason=" ")
    services.draft_reject(draft=draft, user=owner, reason="Invented a warranty")
    assert DescriptionDraft.objects.get(pk=draft.pk).reject_reason == "Invented a warranty"


def test_human_descriptions_are_protected_by_default(store, owner):
    product = ProductFactory(store=store, title="Linen Shirt", attributes=ATTRS, description="Written by Ana.")
    draft = make_draft(store, product=product)
    services.draft_approve(draft=draft, user=owner)
    with pytest.raises(ValueError, match="human-written"):
        services.draft_publish(draft=draft, user=owner)
    services.copywriter_settings_update(store=store, protect_human_descriptions=False)
    store.refresh_from_db()
    services.draft_publish(draft=draft, user=owner)
    product.refresh_from_db()
    assert product.description == "A navy cotton shirt."
    # history keeps the human original, and restore brings it back in one step
    revs = list(DescriptionRevision.objects.for_store(store).filter(product=product))
    assert [r.source for r in revs] == ["model", "human"]
    services.description_restore(revision=revs[1], user=owner)
    product.refresh_from_db()
    assert product.description == "Written by Ana."


def test_bulk_approve_skips_drafts_with_unsupported_facts_or_offtopic_sentences(store, owner):
    clean = make_draft(store)
    dirty = make_draft(store, unsupported=[{"kind": "name", "text": "Nike"}])
    # "0 unsupported facts" is not enough: a sentence about something else keeps the draft out of bulk approval
    offtopic = make_draft(store, description="A navy cotton shirt. A massive explosion took place there that day.",
                          offtopic_sentences=[{"text": "A massive explosion took place there that day.",
                                               "score": 0.08, "reason": "not about this product", "family": ""}])
    out = services.drafts_bulk_approve(store=store, user=owner)
    assert out == {"approved": [clean.pk], "skipped_unsupported": [dirty.pk], "skipped_offtopic": [offtopic.pk]}
    assert DescriptionDraft.objects.get(pk=offtopic.pk).status == DraftStatus.DRAFT


def test_offtopic_sentences_block_single_approval_unless_acknowledged(store, manager):
    draft = make_draft(store, offtopic_sentences=[{"text": "Awesome products!", "reason": "not about this product"}])
    with pytest.raises(ValueError, match="not about this product"):
        services.draft_approve(draft=draft, user=manager)
    services.draft_approve(draft=draft, user=manager, allow_unsupported=True)
    assert DescriptionDraft.objects.get(pk=draft.pk).status == DraftStatus.APPROVED


def test_a_human_edit_is_rechecked_for_relevance_too(store, owner):
    draft = make_draft(store)
    draft = services.draft_edit(draft=draft, user=owner, description="A navy cotton shirt. "
                                "A massive explosion took place there that day.")
    assert [o["text"] for o in draft.offtopic_sentences] == ["A massive explosion took place there that day."]
    draft = services.draft_edit(draft=draft, user=owner, description="A navy cotton shirt for the office.")
    assert draft.offtopic_sentences == []


def test_review_page_highlights_offtopic_sentences(client, store, owner):
    draft = make_draft(store, description="A navy cotton shirt. A massive <b>explosion</b>.",
                       offtopic_sentences=[{"text": "A massive <b>explosion</b>.", "reason": "not about this product"}])
    client.force_login(owner)
    html = client.get(f"/stores/{store.slug}/copywriter/drafts/{draft.pk}/").content.decode()
    assert '<mark class="offtopic" title="not about this product">A massive &lt;b&gt;explosion&lt;/b&gt;.</mark>' in html
    assert "<b>explosion" not in html


def test_reaper_fails_stale_generation_job_and_keeps_drafts(store, owner):
    job = Job.objects.create(store=store, kind="copywriter_generate", status=JobStatus.RUNNING,
                             heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    draft = make_draft(store, job=job)
    assert jobs_reap_stale() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DRAFT and draft.product.description == ""


# --- API ------------------------------------------------------------------------------------------

def url(store, tail):
    return f"/api/v1/stores/{store.slug}/copywriter/{tail}"


def test_api_generation_rejects_products_without_attributes_or_title(store, api_client):
    ProductFactory(store=store, sku="BARE", title="Bare", attributes={})
    r = api_client.post(url(store, "generations"), {"skus": ["BARE"]}, format="json")
    assert r.status_code == 400 and "no attributes" in str(r.data)
    r = api_client.post(url(store, "generations"), {"skus": ["NOPE"]}, format="json")
    assert r.status_code == 400 and "Unknown SKU" in str(r.data)
    r = api_client.post(url(store, "generations"), {}, format="json")
    assert r.status_code == 400 and "skus" in r.data
    ProductFactory(store=store, sku="OK1", title="Shirt", attributes=ATTRS)
    r = api_client.post(url(store, "generations"), {"skus": ["OK1"], "options": {"tone": "loud"}}, format="json")
    assert r.status_code == 400 and "tone" in str(r.data)
    r = api_client.post(url(store, "generations"), {"skus": ["OK1"], "options": {"tone": "premium"}}, format="json")
    assert r.status_code == 202 and r.data["kind"] == "copywriter_generate"
    assert Job.objects.for_store(store).get(pk=r.data["id"]).params["options"]["tone"] == "premium"


def test_api_review_flow_roles_and_tenancy(store, other_store, api_client, analyst_api_client):
    draft = make_draft(store)
    foreign = make_draft(other_store)
    r = api_client.get(url(store, "drafts"))
    assert r.status_code == 200
    ids = [d["id"] for d in (r.data["results"] if isinstance(r.data, dict) else r.data)]
    assert ids == [draft.pk]
    assert api_client.post(url(store, f"drafts/{foreign.pk}/approve"), {}, format="json").status_code == 404
    assert analyst_api_client.post(url(store, f"drafts/{draft.pk}/approve"), {}, format="json").status_code == 403
    assert api_client.post(url(store, f"drafts/{draft.pk}/publish"), {}, format="json").status_code == 400
    assert api_client.post(url(store, f"drafts/{draft.pk}/approve"), {}, format="json").data["status"] == "approved"
    r = api_client.post(url(store, f"drafts/{draft.pk}/publish"), {}, format="json")
    assert r.status_code == 200 and r.data["status"] == "published"
    assert api_client.post(url(store, f"drafts/{draft.pk}/reject"), {"reason": "x"}, format="json").status_code == 400


def test_api_training_refused_with_too_few_descriptions(store, api_client):
    for i in range(5):
        ProductFactory(store=store, attributes=ATTRS, description=f"Human text number {i} about shirts.")
    r = api_client.post(url(store, "training"), {"epochs": 1}, format="json")
    assert r.status_code == 400 and "at least 50" in str(r.data) and "5 human-written" in str(r.data)


def test_pages_render_and_product_panel(store, member_client, owner):
    product = ProductFactory(store=store, sku="SKU-P", title="Panel Shirt", attributes=ATTRS)
    draft = make_draft(store, product=product)
    r = member_client.get(f"/stores/{store.slug}/catalog/SKU-P/")
    assert r.status_code == 200 and b"copywriter-generate-form" in r.content and b"Copywriter page" in r.content
    assert member_client.get(f"/stores/{store.slug}/copywriter/").status_code == 200
    assert member_client.get(f"/stores/{store.slug}/copywriter/drafts/{draft.pk}/").status_code == 200
    assert member_client.get(f"/stores/{store.slug}/copywriter/history/SKU-P/").status_code == 200


def test_openapi_lists_copywriter_endpoints(api_client):
    r = api_client.get("/api/schema/", {"format": "json"})
    paths = r.json()["paths"] if r.headers["content-type"].startswith("application/json") else {}
    if not paths:
        import yaml
        paths = yaml.safe_load(r.content)["paths"]
    assert "/api/v1/stores/{store_slug}/copywriter/generations" in paths
    assert "/api/v1/stores/{store_slug}/copywriter/drafts/{id}/approve" in paths or \
        "/api/v1/stores/{store_slug}/copywriter/drafts/{pk}/approve" in paths


def test_review_page_highlights_unsupported_facts(store, member_client):
    draft = make_draft(store, description="A copper <b>shirt</b>.", unsupported=[{"kind": "material", "text": "copper"}])
    r = member_client.get(f"/stores/{store.slug}/copywriter/drafts/{draft.pk}/")
    assert b'<mark class="unsupported">copper</mark> &lt;b&gt;shirt&lt;/b&gt;' in r.content


def test_api_model_versions_activate_and_roll_back(store, api_client, analyst_api_client):
    from copywriter.models import CopywriterModel

    v1 = CopywriterModel.objects.create(store=store, version=1, path="/nowhere/v1", metrics={"val_loss": 2.0})
    v2 = CopywriterModel.objects.create(store=store, version=2, path="/nowhere/v2", is_active=True)
    r = api_client.get(url(store, "models"))
    assert [v["version"] for v in r.data] == [2, 1]
    assert analyst_api_client.post(url(store, f"models/{v1.pk}/activate")).status_code == 403
    assert api_client.post(url(store, f"models/{v1.pk}/activate")).data["is_active"] is True
    assert list(CopywriterModel.objects.for_store(store).filter(is_active=True)) == [v1]
    assert api_client.post(url(store, "models/rollback")).status_code == 204
    assert not CopywriterModel.objects.for_store(store).filter(is_active=True).exists()
    v2.refresh_from_db()
    assert not v2.is_active


def test_dashboard_train_button_refuses_a_store_with_too_few_descriptions(store, member_client):
    r = member_client.post(f"/stores/{store.slug}/copywriter/models/", {"action": "train", "epochs": "1"}, follow=True)
    assert b"at least 50 are needed" in r.content
    assert not Job.objects.for_store(store).exists()


def test_evaluate_on_the_stores_own_products(store, tmp_path):
    import csv
    import json
    from pathlib import Path

    from django.core.management import call_command

    from copywriter.models import EvaluationReport

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "copywriter" / "tiny_catalog.csv"
    with fixture.open() as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            ProductFactory(store=store, sku=f"E{i}", title=row["title"], brand=row["brand"], category=row["category"],
                           attributes=json.loads(row["attributes"]), description=row["description"])
    out = tmp_path / "store.json"
    call_command("evaluate_copywriter", "--store", store.slug, "--systems", "template", "--json", str(out))
    data = json.loads(out.read_text())
    assert data["dataset"] == "store:acme" and data["n"] > 0
    assert data["systems"][0]["unsupported_fact_rate"] == 0.0 and data["systems"][0]["spec_dump_rate"] == 0.0
    assert EvaluationReport.objects.filter(store=store, dataset="store:acme").exists()


@pytest.mark.django_db
def test_the_plan_writer_drafts_without_the_language_model(store):
    """Settings → "the planner only": drafts are the planner's sentences (vetted and reported as usual), streamed
    one by one, and no language model is loaded for them; an unknown writer is refused."""
    from copywriter.services.generation import run_generation_job
    from ecomops.ml import llm
    from ecomops.models import Job
    from tests.factories import ProductFactory

    services.copywriter_settings_update(store=store, writer="plan")
    with pytest.raises(ValueError, match="Unknown writer"):
        services.copywriter_settings_update(store=store, writer="gpt")
    products = [ProductFactory(store=store, sku=f"P{i}", title=t, category="Home > Kitchen > Kettles",
                               attributes={"capacity": "1.7 L", "material": "stainless steel", "colour": "black"})
                for i, t in enumerate(["Tempo Kettle 1.7 L", "Brio Kettle"])]
    store.refresh_from_db()  # the worker loads its job's store from the database
    loaded_before = llm.load_state(None)
    job = Job.objects.create(store=store, kind="copywriter_generate", params={})
    result = run_generation_job(job, product_ids=[p.pk for p in products], options={"length": "short"})
    drafts = DescriptionDraft.objects.for_store(store).filter(pk__in=result["drafts"])
    assert drafts.count() == 2 and result["model"] == "plan"
    for d in drafts:
        assert "holds 1.7 L" in d.description and d.unsupported_facts == []
    assert llm.load_state(None) == loaded_before  # nothing was loaded for it
    job2 = Job.objects.create(store=store, kind="copywriter_generate", params={})
    streamed = run_generation_job(job2, product_ids=[products[0].pk], options={"length": "short"}, stream=True)
    assert len(streamed["drafts"]) == 1
