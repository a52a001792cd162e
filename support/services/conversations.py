"""Conversation writes: start, persist messages, hand off, agent replies, internal notes, resolve, CSAT.

Each change is broadcast to the store's live group (`support.conversation`, `support.message`) after commit;
the widget's own socket receives customer-visible messages through its conversation group.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from ecomops.models import Customer, Store
from ecomops.realtime import store_broadcast
from support.ml.safety import clean_text
from support.models import Conversation, ConversationStatus, Message, MessageRole

logger = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 2000
CUSTOMER_VISIBLE = (MessageRole.CUSTOMER, MessageRole.BOT, MessageRole.AGENT, MessageRole.SYSTEM)


def conversation_group(conversation: Conversation) -> str:
    return f"support-conv-{conversation.public_id.hex}"


def message_payload(message: Message, *, internal: bool = False) -> dict[str, Any]:
    data = {
        "id": message.pk,
        "conversation": str(message.conversation.public_id),
        "role": message.role,
        "text": message.text,
        "sources": message.sources or [],
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }
    if internal:
        data.update({"intent": message.intent, "confidence": message.confidence, "grounded": message.grounded,
                     "answer_mode": message.answer_mode})
    return data


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": str(conversation.public_id),
        "status": conversation.status,
        "last_intent": conversation.last_intent,
        "handoff_reason": conversation.handoff_reason,
        "summary": conversation.summary,
        "suggested_reply": conversation.suggested_reply,
        "customer_email": conversation.customer_email,
        "csat": conversation.csat,
        "updated_at": conversation.updated_at.isoformat() if conversation.updated_at else None,
    }


def _customer_push(conversation: Conversation, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    def send() -> None:
        try:
            async_to_sync(layer.group_send)(conversation_group(conversation), {"type": "chat.event", "payload": payload})
        except Exception:  # noqa: BLE001 - a push failure must not lose the stored message
            logger.warning("support: push to %s failed", conversation_group(conversation), exc_info=True)

    transaction.on_commit(send)


def _broadcast_message(message: Message) -> None:
    store_broadcast(message.store_id, "support.message", {"message": message_payload(message, internal=True)})
    if message.role in CUSTOMER_VISIBLE:
        _customer_push(message.conversation, {"type": "message", "message": message_payload(message)})


def _broadcast_conversation(conversation: Conversation) -> None:
    store_broadcast(conversation.store_id, "support.conversation", {"conversation": conversation_payload(conversation)})
    _customer_push(conversation, {"type": "status", "status": conversation.status})


def conversation_start(*, store: Store, channel: str = "widget", session_key: str = "", customer: Customer | None = None,
                       customer_email: str = "") -> Conversation:
    with transaction.atomic():
        conversation = Conversation.objects.create(
            store=store, channel=channel, session_key=session_key[:64], customer=customer,
            customer_email=(customer_email or "")[:254],
        )
        _broadcast_conversation(conversation)
    return conversation


def message_add(*, conversation: Conversation, role: str, text: str, author=None, **fields) -> Message:
    with transaction.atomic():
        message = Message.objects.create(
            store_id=conversation.store_id, conversation=conversation, role=role, text=text, author=author, **fields
        )
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())
        _broadcast_message(message)
    return message


def conversation_handoff(*, conversation: Conversation, reason: str, intent: str = "", summary: str = "",
                         suggested_reply: str = "") -> Conversation:
    """Put the conversation in the human queue with the bot's summary and a suggested reply."""
    with transaction.atomic():
        conversation.status = ConversationStatus.WAITING
        conversation.handoff_reason = reason[:300]
        conversation.handoff_intent = intent[:64]
        conversation.summary = summary
        conversation.suggested_reply = suggested_reply
        conversation.handed_off_at = conversation.handed_off_at or timezone.now()
        conversation.save(update_fields=["status", "handoff_reason", "handoff_intent", "summary", "suggested_reply",
                                         "handed_off_at", "updated_at"])
        _broadcast_conversation(conversation)
    return conversation


class ConversationActionInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def agent_reply_send(*, conversation: Conversation, text: str, author) -> Message:
    text = clean_text(text, max_chars=MAX_MESSAGE_CHARS + 1)
    if not text:
        raise ConversationActionInvalid({"text": "The reply is empty."})
    if len(text) > MAX_MESSAGE_CHARS:
        raise ConversationActionInvalid({"text": f"The reply is longer than {MAX_MESSAGE_CHARS} characters."})
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        message = message_add(conversation=conversation, role=MessageRole.AGENT, text=text, author=author)
        if conversation.first_human_reply_at is None:
            conversation.first_human_reply_at = message.created_at
        if conversation.status == ConversationStatus.BOT:
            conversation.status = ConversationStatus.WAITING  # a human took over
            conversation.handed_off_at = conversation.handed_off_at or message.created_at
        conversation.save(update_fields=["first_human_reply_at", "status", "handed_off_at", "updated_at"])
        _broadcast_conversation(conversation)
    return message


def note_add(*, conversation: Conversation, text: str, author) -> Message:
    text = clean_text(text, max_chars=MAX_MESSAGE_CHARS + 1)
    if not text:
        raise ConversationActionInvalid({"text": "The note is empty."})
    return message_add(conversation=conversation, role=MessageRole.NOTE, text=text[:MAX_MESSAGE_CHARS], author=author)


def conversation_resolve(*, conversation: Conversation, by_human: bool = True) -> Conversation:
    with transaction.atomic():
        conversation.status = ConversationStatus.RESOLVED
        conversation.resolved_at = timezone.now()
        conversation.resolved_by_human = by_human or conversation.handed_off_at is not None
        conversation.save(update_fields=["status", "resolved_at", "resolved_by_human", "updated_at"])
        message_add(conversation=conversation, role=MessageRole.SYSTEM,
                    text="This conversation is resolved. How did we do? Rate us from 1 to 5.")
        _broadcast_conversation(conversation)
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Erase a conversation with its messages; the inbox drops it and an open widget is told, after commit."""
    with transaction.atomic():
        store_id, public_id = conversation.store_id, conversation.public_id
        _customer_push(conversation, {"type": "status", "status": "deleted"})
        conversation.delete()
        store_broadcast(store_id, "support.conversation.deleted", {"conversation": {"id": str(public_id)}})


def conversation_rate(*, conversation: Conversation, score: int) -> Conversation:
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ConversationActionInvalid({"csat": "The rating must be a whole number from 1 to 5."}) from None
    if not 1 <= score <= 5:
        raise ConversationActionInvalid({"csat": "The rating must be from 1 to 5."})
    with transaction.atomic():
        conversation.csat = score
        conversation.save(update_fields=["csat", "updated_at"])
        _broadcast_conversation(conversation)
    return conversation
