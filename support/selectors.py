"""Reads of the support app, always scoped to one store."""

from __future__ import annotations

import statistics
from collections import Counter

from django.db.models import QuerySet

from ecomops.models import Customer, Order, Store
from support.models import ClassifierVersion, Conversation, ConversationStatus, KnowledgeEntry, Message, MessageRole


def order_for_verified_customer(
    *, store: Store, number: str, email: str = "", customer: Customer | None = None
) -> Order | None:
    """The order only if it belongs to the verified customer: the number AND (the e-mail on the order's
    customer, case-insensitive, or the authenticated customer). A wrong e-mail and an unknown number look
    the same to the caller, so nobody can probe for other customers' orders."""
    number = (number or "").strip().lstrip("#")
    if not number or (not email and customer is None):
        return None
    qs = Order.objects.for_store(store).select_related("customer").filter(number=number)
    if customer is not None:
        qs = qs.filter(customer=customer)
    else:
        qs = qs.filter(customer__email__iexact=email.strip())
    return qs.first()


def customer_by_external_id(*, store: Store, external_id: str) -> Customer | None:
    return Customer.objects.for_store(store).filter(external_id=external_id).first()


def conversations_for_store(*, store: Store, status: str = "") -> QuerySet[Conversation]:
    qs = Conversation.objects.for_store(store)
    if status in ConversationStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at")


def conversation_get(*, store: Store, public_id) -> Conversation | None:
    try:
        return Conversation.objects.for_store(store).filter(public_id=public_id).first()
    except (ValueError, TypeError, Exception):  # a malformed id is the same as a missing one
        return None


def messages_for(conversation: Conversation, *, internal: bool) -> QuerySet[Message]:
    qs = Message.objects.for_store(conversation.store_id).filter(conversation=conversation)
    if not internal:
        qs = qs.exclude(role=MessageRole.NOTE)
    return qs.order_by("created_at", "id")


def knowledge_for_store(*, store: Store, kind: str = "") -> QuerySet[KnowledgeEntry]:
    qs = KnowledgeEntry.objects.for_store(store).defer("embedding")
    return qs.filter(kind=kind) if kind else qs


def classifier_versions(*, store: Store) -> QuerySet[ClassifierVersion]:
    return ClassifierVersion.objects.for_store(store).defer("artifact")


def support_analytics(*, store: Store) -> dict:
    """Deflection rate, hand-off rate by intent, median first-response time (s), CSAT."""
    conversations = list(
        Conversation.objects.for_store(store).values(
            "pk", "status", "handed_off_at", "handoff_intent", "last_intent", "csat", "created_at", "first_human_reply_at",
            "resolved_by_human",
        )
    )
    total = len(conversations)
    handed = [c for c in conversations if c["handed_off_at"]]
    deflected = [c for c in conversations if not c["handed_off_at"]]
    by_intent_total: Counter = Counter(c["last_intent"] or "unknown" for c in conversations)
    by_intent_handoff: Counter = Counter((c["handoff_intent"] or c["last_intent"] or "unknown") for c in handed)
    first_customer = {}
    first_response = {}
    for conv_id, role, created in (
        Message.objects.for_store(store).filter(role__in=[MessageRole.CUSTOMER, MessageRole.BOT, MessageRole.AGENT])
        .order_by("created_at").values_list("conversation_id", "role", "created_at")
    ):
        if role == MessageRole.CUSTOMER:
            first_customer.setdefault(conv_id, created)
        elif conv_id in first_customer:
            first_response.setdefault(conv_id, (created - first_customer[conv_id]).total_seconds())
    human_response = [
        (c["first_human_reply_at"] - c["handed_off_at"]).total_seconds()
        for c in handed if c["first_human_reply_at"] and c["handed_off_at"]
    ]
    csat = [c["csat"] for c in conversations if c["csat"]]
    days: dict = {}
    for c in conversations:
        day = days.setdefault(c["created_at"].date().isoformat(), {"conversations": 0, "handed_off": 0})
        day["conversations"] += 1
        day["handed_off"] += bool(c["handed_off_at"])
    daily = [
        {"day": d, **v, "deflection_rate": (v["conversations"] - v["handed_off"]) / v["conversations"]}
        for d, v in sorted(days.items())
    ]
    intents = sorted(by_intent_total, key=lambda i: -by_intent_total[i])
    return {
        "conversations": total,
        "deflection_rate": len(deflected) / total if total else None,
        "handoff_rate": len(handed) / total if total else None,
        "handoff_by_intent": [
            {"intent": i, "conversations": by_intent_total[i], "handoffs": by_intent_handoff.get(i, 0),
             "rate": by_intent_handoff.get(i, 0) / by_intent_total[i]}
            for i in intents
        ],
        "median_first_response_s": statistics.median(first_response.values()) if first_response else None,
        "median_human_first_response_s": statistics.median(human_response) if human_response else None,
        "csat_average": sum(csat) / len(csat) if csat else None,
        "csat_count": len(csat),
        "csat_distribution": [csat.count(i) for i in range(1, 6)],
        "by_status": dict(Counter(c["status"] for c in conversations)),
        "daily": daily,
        "first_response_s": sorted(first_response.values()),
    }
