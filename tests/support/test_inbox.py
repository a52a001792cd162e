"""The inbox and analytics on real answers; the training and embedding jobs with progress on the Job row."""

from __future__ import annotations

import pytest

from ecomops.models import Job, JobStatus
from ecomops.services.jobs import job_create
from support.models import ClassifierVersion, Conversation, MessageRole
from support.services.answering import answer_question
from support.services.classifier import training_file_store
from support.tasks import support_embed, support_train

from .conftest import FIXTURES

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_inbox_filters_and_agent_actions(member_client, faq, classifier, store):
    r = answer_question(store=store, question="I want to talk to a human", use_lm=False)
    answer_question(store=store, question="How long does shipping take?", use_lm=False)
    base = f"/stores/{store.slug}/support/"
    waiting = member_client.get(base + "?status=waiting").content.decode()
    assert str(r.conversation.public_id) in waiting and waiting.count("data-conversation=") == 1
    detail = member_client.get(base + f"conversations/{r.conversation.public_id}/").content.decode()
    assert "Customer asked" in detail  # the bot's summary
    member_client.post(base + f"conversations/{r.conversation.public_id}/reply/", {"text": "Hello, I'm here."})
    member_client.post(base + f"conversations/{r.conversation.public_id}/note/", {"text": "Called back"})
    member_client.post(base + f"conversations/{r.conversation.public_id}/resolve/")
    c = Conversation.objects.get(pk=r.conversation.pk)
    roles = list(c.messages.values_list("role", flat=True))
    assert MessageRole.AGENT in roles and MessageRole.NOTE in roles and c.status == "resolved"


def test_analysts_cannot_act(client, analyst, faq, classifier, store):
    client.force_login(analyst)
    r = answer_question(store=store, question="get me a human", use_lm=False)
    assert client.post(f"/stores/{store.slug}/support/conversations/{r.conversation.public_id}/reply/",
                       {"text": "hi"}).status_code == 403


def test_analytics_figures(member_client, faq, classifier, store, owner):
    from support.services.conversations import agent_reply_send, conversation_rate

    deflected = answer_question(store=store, question="How long does shipping take?", use_lm=False)
    handed = answer_question(store=store, question="I want to file a complaint", use_lm=False)
    agent_reply_send(conversation=handed.conversation, text="Sorry!", author=owner)
    conversation_rate(conversation=deflected.conversation, score=5)
    from support.selectors import support_analytics

    a = support_analytics(store=store)
    assert a["conversations"] == 2 and a["deflection_rate"] == 0.5 and a["csat_average"] == 5
    assert {r["intent"]: r["rate"] for r in a["handoff_by_intent"]}["complaint"] == 1.0
    assert a["median_first_response_s"] is not None and a["median_human_first_response_s"] is not None
    assert len(a["first_response_s"]) == 2
    assert a["daily"][-1]["conversations"] == 2 and a["daily"][-1]["deflection_rate"] == 0.5
    page = member_client.get(f"/stores/{store.slug}/support/analytics/").content.decode()
    assert "deflection-chart" in page and "handoff-chart" in page and "response-chart" in page and "csat-chart" in page


def test_training_job_reports_progress_and_stores_a_version(store, owner):
    upload = training_file_store(FIXTURES / "intents_small.csv")  # what train_support --bitext stores server-side
    job = job_create(store=store, kind="support_train", params={"base_upload": upload}, created_by=owner)
    assert support_train(str(job.pk)) == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.result["version"] == 1
    version = ClassifierVersion.objects.for_store(store).get()
    assert version.is_active and version.metrics["accuracy"] > 0.8 and version.metrics["confusion"]["matrix"]
    assert support_train(str(job.pk)) == "skipped"  # safe to run twice


def test_embedding_job_runs_once_per_change(faq, store):
    job = job_create(store=store, kind="support_embed")
    assert support_embed(str(job.pk)) == "succeeded"
    assert Job.objects.get(pk=job.pk).result == {"embedded": 0, "entries": 8}
