"""The answering pipeline: persist the question, understand it, act (order look-up, hand-off) or retrieve and
answer from knowledge with citations, check grounding, persist the reply.

question -> clean -> injection signal -> intent + confidence -> hand-off rules / verified order look-up
         -> retrieval top-k -> evidence sentences -> SmolLM2 (shared runtime) rewrites each, vetted sentence by
         sentence (grounded, qualifiers kept) -> final grounding gate -> reply, quoted source, or hand-off
A suspicious message (support.ml.safety.injection_signal) is never refused: hand-off requests come first, and it
is answered only by quoting cited knowledge (no free generation) or handed to a human, with a note for agents.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from ecomops.models import Customer, Store
from support import selectors
from support.ml.answering import (
    MIN_PASSAGE_SCORE,
    Answer,
    Passage,
    extractive_answer,
    generate_answer,
    ground_or_extract,
    is_low_confidence,
)
from support.ml.safety import clean_text, injection_signal
from support.models import Conversation, ConversationStatus, Message, MessageRole
from support.services import conversations as conv
from support.services.retrieval import knowledge_search, understand

logger = logging.getLogger(__name__)

# Intents the bot never resolves itself: they change money, orders or accounts, or need empathy and judgement.
HUMAN_INTENTS = frozenset({
    "cancel_order", "change_order", "change_shipping_address", "get_refund", "track_refund", "payment_issue",
    "complaint", "contact_human_agent", "contact_customer_service", "delete_account",
})  # fmt: skip
MAX_FAILURES = 2
STRONG_PASSAGE_SCORE = 0.7
_HUMAN_REQUEST = re.compile(
    r"\b(?:human|real person|a person|live agent|an agent|representative|operator|talk to someone|speak to someone)\b", re.I
)
_ORDER_NUMBER = re.compile(r"(?:order|purchase)\s*(?:number|no\.?|#|id)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{2,30})\b|#\s*([A-Z0-9-]{3,30})\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_lm_lock = threading.Lock()

REFUSAL = ("I can't help with that request. I can answer questions about our products, orders, shipping and "
           "policies, or pass you to a member of our team.")
HANDOFF_REPLY = "I've passed your conversation to our support team; a person will reply here as soon as possible."
ORDER_NEEDS_IDENTITY = ("I can look up your order. Please send your order number and the e-mail address you used "
                        "when ordering.")
ORDER_NOT_FOUND = ("I couldn't find an order with that number for that e-mail address. Please check both and try "
                   "again, or ask for a human and our team will help.")
EMPTY_REPLY = "It looks like your message was empty. How can I help you today?"
TOO_LONG_REPLY = ("Your message is too long for me ({n} characters; the limit is {limit}). Please send a shorter "
                  "question.")
NO_ANSWER = ("I'm sorry, I couldn't find that in our help center, so I won't guess. Would you like me to pass you to "
             "a member of our team? Just say \"human\".")


@dataclass
class BotReply:
    answer: str
    intent: str
    confidence: float | None
    sources: list[dict] = field(default_factory=list)
    handoff: bool = False
    handoff_reason: str = ""
    mode: str = ""
    grounded: bool | None = None
    conversation: Conversation | None = None
    message: Message | None = None
    timings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "answer": self.answer,
            "intent": self.intent,
            "confidence": self.confidence,
            "sources": self.sources,
            "handoff": self.handoff,
            "conversation_id": str(self.conversation.public_id) if self.conversation else None,
        }


def _flag(name: str, default: bool) -> bool:
    """A boolean from settings, else from the environment (so a bench can start a server in a given mode)."""
    value = getattr(settings, name, None)
    if value is None:
        raw = os.environ.get(name)
        return default if raw is None else raw.strip().lower() not in {"0", "false", "no", "off", ""}
    return bool(value)


def lm_candidates() -> int:
    """Best of N for the widget: sampled candidates per sentence whose greedy one failed (settings or environment
    SUPPORT_LM_CANDIDATES, default `CANDIDATES`; 0 = greedy only). Reply p50 on a quiet machine (bench/support.py
    --generate 6 --candidates N): 0.29 s greedy only, 1.7 s with 2, 6.2 s with 8 (each copy prefills the prompt)."""
    from support.ml.answering import CANDIDATES

    value = getattr(settings, "SUPPORT_LM_CANDIDATES", None)
    if value is None:
        value = os.environ.get("SUPPORT_LM_CANDIDATES", CANDIDATES)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return CANDIDATES


def models_unload() -> None:
    """Forget every loaded model (the per-request-loading baseline of bench/support.py uses this)."""
    from ecomops.ml.llm import clear_cache
    from support.ml import embedder
    from support.services.retrieval import caches_clear

    embedder.unload()
    caches_clear()
    clear_cache()


def language_model():
    """The shared runtime's model (ecomops.ml.llm), loaded once per process: support answers with the shipped
    base SmolLM2, never a copywriter fine-tune."""
    from ecomops.ml.llm import get_language_model

    return get_language_model()


def _sources(passages: list[Passage], cited: list[int]) -> list[dict]:
    return [
        {"n": i, "id": p.entry_id, "kind": p.kind, "title": p.title, "score": round(p.score, 4), "cited": p.entry_id in cited}
        for i, p in enumerate(passages, start=1)
    ]


def _summary(question: str, intent: str, confidence: float | None, reason: str, order_note: str = "") -> str:
    conf = f" ({confidence:.0%})" if confidence is not None else ""
    parts = [f"Customer asked: “{question[:300]}”.", f"Detected intent: {intent}{conf}.", f"Hand-off reason: {reason}."]
    if order_note:
        parts.append(order_note)
    return " ".join(parts)


SUGGESTED = {
    "cancel_order": "Hi, thanks for reaching out. I can help cancel your order: could you confirm the order number? "
                    "If it hasn't shipped yet we can cancel it right away.",
    "get_refund": "Hi, I'm sorry the order didn't work out. I've checked your request and will start the refund "
                  "process; could you confirm the order number and the reason for the return?",
    "change_shipping_address": "Hi, I can update the shipping address if the order hasn't shipped yet. Which order "
                               "is it, and what is the new address?",
    "complaint": "Hi, I'm really sorry about your experience. Could you tell me a bit more so I can put it right?",
    "payment_issue": "Hi, sorry you're having trouble paying. Could you tell me what error you see and which payment "
                     "method you used?",
}


def _suggested_reply(intent: str, passages: list[Passage]) -> str:
    if intent in SUGGESTED:
        return SUGGESTED[intent]
    if passages and passages[0].score >= MIN_PASSAGE_SCORE:
        return "Hi, thanks for your question. " + extractive_answer("", passages).text.replace(" [1]", "")
    return "Hi, thanks for your message. Let me look into this for you."


def _order_facts(order) -> str:
    placed = order.placed_at.strftime("%d %B %Y")
    return f"Order {order.number} (placed {placed}) is {order.get_status_display().lower()}. Total: {order.total} {order.currency}."


def _extract_identity(text: str) -> tuple[str, str]:
    number = ""
    if m := _ORDER_NUMBER.search(text):
        number = m.group(1) or m.group(2) or ""
        if not any(ch.isdigit() for ch in number):
            number = ""
    email = m.group(0) if (m := _EMAIL.search(text)) else ""
    return number, email


def answer_question(
    *,
    store: Store,
    question,
    customer_email: str = "",
    order_number: str = "",
    customer: Customer | None = None,
    conversation: Conversation | None = None,
    channel: str = "api",
    session_key: str = "",
    use_lm: bool | None = None,
    on_token: Callable[[str], None] | None = None,
    max_new_tokens: int = 64,
) -> BotReply:
    """Answer one customer message. The question is stored before any model runs; any model failure or
    timeout hands the conversation to a human with a note instead of losing it."""
    started = time.perf_counter()
    if _flag("SUPPORT_LOAD_MODELS_PER_REQUEST", False):
        models_unload()  # benchmark baseline only: what serving would cost without per-process caching
    raw = question.decode("utf-8", errors="replace") if isinstance(question, bytes) else str(question or "")
    text = clean_text(raw, max_chars=10_000)
    if conversation is None:
        conversation = conv.conversation_start(store=store, channel=channel, session_key=session_key, customer=customer,
                                               customer_email=customer_email or "")
    elif customer_email and not conversation.customer_email:
        conversation.customer_email = customer_email[:254]
        conversation.save(update_fields=["customer_email", "updated_at"])
    question_msg = conv.message_add(conversation=conversation, role=MessageRole.CUSTOMER, text=text or "(empty message)")

    def reply(answer: str, **kw) -> BotReply:
        result = BotReply(answer=answer, conversation=conversation, **kw)
        result.message = conv.message_add(
            conversation=conversation, role=MessageRole.BOT, text=answer, intent=result.intent,
            confidence=result.confidence, sources=result.sources, grounded=result.grounded, answer_mode=result.mode,
        )
        question_msg.intent, question_msg.confidence = result.intent, result.confidence
        question_msg.save(update_fields=["intent", "confidence"])
        if result.intent and result.intent != conversation.last_intent:
            conversation.last_intent = result.intent[:64]
            conversation.save(update_fields=["last_intent", "updated_at"])
        result.timings["total_s"] = time.perf_counter() - started
        return result

    def handoff(reason: str, intent: str, confidence: float | None, passages: list[Passage], *, answer: str = HANDOFF_REPLY,
                order_note: str = "", mode: str = "handoff") -> BotReply:
        conv.conversation_handoff(
            conversation=conversation, reason=reason, intent=intent,
            summary=_summary(text, intent, confidence, reason, order_note),
            suggested_reply=_suggested_reply(intent, passages),
        )
        return reply(answer, intent=intent, confidence=confidence, sources=_sources(passages, []), handoff=True,
                     handoff_reason=reason, mode=mode)

    if not text:
        return reply(EMPTY_REPLY, intent="", confidence=None, mode="invalid")
    if len(text) > conv.MAX_MESSAGE_CHARS:
        return reply(TOO_LONG_REPLY.format(n=len(text), limit=conv.MAX_MESSAGE_CHARS), intent="", confidence=None,
                     mode="invalid")
    if conversation.status == ConversationStatus.WAITING:
        return reply("Thanks, I've added this to your conversation; our team will reply here shortly.", intent="",
                     confidence=None, handoff=True, handoff_reason="already with a human", mode="queued")
    suspicion = injection_signal(text)  # a signal for the policy below, never a refusal
    if suspicion.suspicious:
        conv.message_add(conversation=conversation, role=MessageRole.NOTE,
                         text=f"Possible prompt injection (matched: {', '.join(suspicion.reasons)[:200]}); the bot "
                              "answers this message only by quoting cited knowledge.")

    t0 = time.perf_counter()
    understanding = understand(store, text)
    intent, confidence = understanding.intent, understanding.confidence
    passages = knowledge_search(store, text, k=3, vector=understanding.vector)
    timings = {"understand_retrieve_s": time.perf_counter() - t0}

    # Hand-off rules that need no knowledge.
    if _HUMAN_REQUEST.search(text) or intent == "contact_human_agent":
        return handoff("customer asked for a human", intent, confidence, passages)
    if intent in HUMAN_INTENTS:
        number, email = _extract_identity(text)
        note = f"Order number given: {number or order_number}." if (number or order_number) else ""
        return handoff(f"'{intent}' needs a human (the bot never changes orders, refunds or accounts)", intent,
                       confidence, passages, order_note=note)

    # Verified order look-up.
    number, email = _extract_identity(text)
    number = order_number or number
    email = customer_email or email or conversation.customer_email
    # A "where is my order" without a number goes to the look-up, unless the store's knowledge answers the
    # question almost verbatim (e.g. "How long does shipping take?" misread as track_order).
    knowledge_answers = bool(passages) and passages[0].score >= STRONG_PASSAGE_SCORE
    if number or (intent == "track_order" and not knowledge_answers):
        verified_customer = customer or conversation.customer
        if not number or (not email and verified_customer is None):
            return reply(ORDER_NEEDS_IDENTITY, intent=intent, confidence=confidence, mode="order")
        order = selectors.order_for_verified_customer(store=store, number=number, email=email, customer=verified_customer)
        if order is None:
            conversation.failed_answers += 1
            conversation.save(update_fields=["failed_answers", "updated_at"])
            if conversation.failed_answers > MAX_FAILURES:
                return handoff("order look-up failed repeatedly", intent, confidence, passages)
            return reply(ORDER_NOT_FOUND, intent=intent, confidence=confidence, mode="order")
        if not conversation.customer_id:
            conversation.customer = order.customer
            conversation.customer_email = conversation.customer_email or email[:254]
            conversation.save(update_fields=["customer", "customer_email", "updated_at"])
        return reply(_order_facts(order), intent=intent, confidence=confidence, mode="order", grounded=True,
                     sources=[{"n": 1, "kind": "order", "title": f"Order {order.number}", "cited": True}])

    supported = [p for p in passages if p.score >= MIN_PASSAGE_SCORE]
    if not supported:
        if is_low_confidence(intent, confidence):
            return handoff("low confidence: outside what the bot knows", intent, confidence, passages)
        conversation.failed_answers += 1
        conversation.save(update_fields=["failed_answers", "updated_at"])
        if conversation.failed_answers >= MAX_FAILURES:
            return handoff("repeated failure to answer", intent, confidence, passages)
        return reply(NO_ANSWER, intent=intent, confidence=confidence, sources=_sources(passages, []), mode="no_answer")

    # Answer from the knowledge that supports the question, generated or quoted, always cited and grounded.
    use_lm = (_flag("SUPPORT_USE_LM", True) if use_lm is None else use_lm) and not suspicion.suspicious
    answer: Answer
    if use_lm:
        try:
            with _lm_lock:
                draft = generate_answer(text, supported, lm=language_model(), max_new_tokens=max_new_tokens,
                                        candidates=lm_candidates(),
                                        on_token=on_token, deadline_s=getattr(settings, "SUPPORT_LM_TIMEOUT_S", 30),
                                        question_vector=understanding.vector)
            answer = ground_or_extract(text, draft, supported)
            timings.update(first_token_s=draft.first_token_s, first_visible_s=draft.first_visible_s, generate_s=draft.total_s)
        except Exception as exc:  # noqa: BLE001 - any model failure: a human takes over, nothing is lost
            logger.exception("support answer model failed for conversation %s", conversation.public_id)
            conv.message_add(conversation=conversation, role=MessageRole.NOTE,
                             text=f"The answer model failed ({exc.__class__.__name__}: {str(exc)[:200]}); handed to a human.")
            return handoff("the answer model failed or timed out", intent, confidence, supported)
    else:
        answer = extractive_answer(text, supported)
    conversation.failed_answers = 0
    conversation.save(update_fields=["failed_answers", "updated_at"])
    result = reply(answer.text, intent=intent, confidence=confidence, sources=_sources(supported, answer.citations),
                   mode=answer.mode, grounded=answer.grounded)
    result.timings.update(timings)
    return result


def widget_message_receive(*, store: Store, conversation: Conversation, text, on_token=None) -> BotReply:
    """A message from the chat widget (runs in a worker thread of the websocket consumer)."""
    return answer_question(store=store, question=text, conversation=conversation, channel="widget", on_token=on_token)
