"""Knowledge writes: FAQ entries, policy pages (chunked by heading), product cards, imports, embedding.

Every write bumps the store's knowledge version (so each worker's in-memory index rebuilds) and asks for an
embedding job once the transaction commits. The job embeds only entries whose text changed (sha256 stamp).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from ecomops.models import Job, JobStatus, Product, ProductStatus, Store
from support.ml import embedder
from support.ml.safety import clean_text
from support.models import KnowledgeEntry, KnowledgeKind, PolicyPage, SupportState

EMBED_JOB_KIND = "support_embed"
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 8000
MAX_IMPORT_ROWS = 5000  # per uploaded FAQ file (the size is capped before parsing: settings.UPLOAD_MAX_BYTES)


# --- version stamp ------------------------------------------------------------------------------------

def knowledge_version_bump(*, store: Store, embed: bool = True) -> None:
    state, _ = SupportState.objects.get_or_create(store=store)
    SupportState.objects.filter(pk=state.pk).update(knowledge_version=F("knowledge_version") + 1)
    if embed:
        transaction.on_commit(lambda: knowledge_embed_request(store=store))


def knowledge_embed_request(*, store: Store, created_by=None) -> Job | None:
    """Queue an embedding job unless one is already queued for this store (bulk edits queue one job)."""
    from ecomops.services.jobs import JobLimitReached, job_create

    if Job.objects.for_store(store).filter(kind=EMBED_JOB_KIND, status=JobStatus.QUEUED).exists():
        return None
    try:
        return job_create(store=store, kind=EMBED_JOB_KIND, params={}, created_by=created_by)
    except JobLimitReached:  # several already running: the next edit queues one again
        return None


def embedding_text(entry: KnowledgeEntry) -> str:
    """What the stored vector stands for (hashed to detect changes); see embedder.entry_vectors."""
    return f"{entry.title}\n{entry.text}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def knowledge_embed_pending(*, store: Store, progress: Callable[[int, str], None] | None = None) -> dict:
    """Embed the store's entries whose embedded text changed. Safe to run twice (the hash makes it a no-op)."""
    entries = list(KnowledgeEntry.objects.for_store(store).filter(is_active=True))
    todo = [(e, embedding_text(e)) for e in entries]
    todo = [(e, t) for e, t in todo if e.embedding is None or e.embedded_hash != _hash(t)]
    if progress:
        progress(5, f"{len(todo)} of {len(entries)} entries need embeddings")
    batch = 64
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        vectors = embedder.entry_vectors([(e.title, e.text) for e, _ in chunk], batch_size=batch)
        with transaction.atomic():
            for (entry, text), vec in zip(chunk, vectors, strict=True):
                # Only write if the text is still what we embedded (an edit meanwhile queues its own job).
                KnowledgeEntry.objects.for_store(store).filter(pk=entry.pk, title=entry.title, text=entry.text).update(
                    embedding=embedder.to_bytes(vec), embedded_hash=_hash(text)
                )
        if progress:
            done = min(start + batch, len(todo))
            progress(5 + int(90 * done / max(len(todo), 1)), f"Embedded {done}/{len(todo)}")
    if todo:
        knowledge_version_bump(store=store, embed=False)
    return {"embedded": len(todo), "entries": len(entries)}


# --- FAQ ------------------------------------------------------------------------------------------------

def _validate_faq(question: str, answer: str) -> dict[str, str]:
    errors = {}
    if not question.strip():
        errors["title"] = "The question is empty."
    elif len(question) > MAX_QUESTION_CHARS:
        errors["title"] = f"The question is longer than {MAX_QUESTION_CHARS} characters."
    if not answer.strip():
        errors["text"] = "The answer is empty."
    elif len(answer) > MAX_ANSWER_CHARS:
        errors["text"] = f"The answer is longer than {MAX_ANSWER_CHARS} characters."
    return errors


class KnowledgeInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def faq_entry_create(*, store: Store, title: str, text: str, is_active: bool = True) -> KnowledgeEntry:
    title, text = clean_text(title, max_chars=MAX_QUESTION_CHARS + 1), clean_text(text, max_chars=MAX_ANSWER_CHARS + 1)
    if errors := _validate_faq(title, text):
        raise KnowledgeInvalid(errors)
    with transaction.atomic():
        entry = KnowledgeEntry.objects.create(store=store, kind=KnowledgeKind.FAQ, title=title, text=text, is_active=is_active)
        knowledge_version_bump(store=store)
    return entry


def knowledge_entry_update(*, entry: KnowledgeEntry, title: str | None = None, text: str | None = None,
                           is_active: bool | None = None) -> KnowledgeEntry:
    title = entry.title if title is None else clean_text(title, max_chars=MAX_QUESTION_CHARS + 1)
    text = entry.text if text is None else clean_text(text, max_chars=MAX_ANSWER_CHARS + 1)
    if errors := _validate_faq(title, text):
        raise KnowledgeInvalid(errors)
    with transaction.atomic():
        entry.title, entry.text = title, text
        if is_active is not None:
            entry.is_active = is_active
        entry.save(update_fields=["title", "text", "is_active", "updated_at"])
        knowledge_version_bump(store=entry.store)
    return entry


def knowledge_entry_delete(*, entry: KnowledgeEntry) -> None:
    store = entry.store
    with transaction.atomic():
        entry.delete()
        knowledge_version_bump(store=store, embed=False)


# --- policy pages ----------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$|^(.+)\n[=-]{3,}\s*$", re.MULTILINE)


def policy_chunks(title: str, body: str, *, max_chars: int = 1200) -> list[tuple[str, str]]:
    """Split markdown/text by headings into (heading, text) chunks; long sections split at paragraphs."""
    body = body.replace("\r\n", "\n")
    marks = [(m.start(), m.end(), (m.group(2) or m.group(3) or "").strip()) for m in _HEADING.finditer(body)]
    sections: list[tuple[str, str]] = []
    if not marks:
        sections.append((title, body))
    else:
        if body[: marks[0][0]].strip():
            sections.append((title, body[: marks[0][0]]))
        for i, (_, end, heading) in enumerate(marks):
            stop = marks[i + 1][0] if i + 1 < len(marks) else len(body)
            sections.append((f"{title} — {heading}", body[end:stop]))
    chunks = []
    for heading, text in sections:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        current = ""
        for p in paragraphs:
            if current and len(current) + len(p) > max_chars:
                chunks.append((heading, current))
                current = p
            else:
                current = f"{current}\n\n{p}".strip()
        if current:
            chunks.append((heading, current))
    return chunks


def policy_page_save(*, store: Store, title: str, body: str, slug: str = "", page: PolicyPage | None = None) -> PolicyPage:
    title, body = clean_text(title, max_chars=200), clean_text(body, max_chars=100_000)
    errors = {}
    if not title:
        errors["title"] = "The title is empty."
    if not body:
        errors["body"] = "The page is empty."
    if errors:
        raise KnowledgeInvalid(errors)
    with transaction.atomic():
        if page is None:
            slug = slugify(slug or title)[:100] or "policy"
            page, _ = PolicyPage.objects.for_store(store).get_or_create(
                store=store, slug=slug, defaults={"title": title, "body": body}
            )
        page.title, page.body = title, body
        page.save()
        existing = {e.source_key: e for e in KnowledgeEntry.objects.for_store(store).filter(policy_page=page)}
        keep = set()
        for n, (heading, text) in enumerate(policy_chunks(title, body)):
            key = f"policy:{page.pk}:{n}"
            keep.add(key)
            entry = existing.get(key)
            if entry is None:
                KnowledgeEntry.objects.create(
                    store=store, kind=KnowledgeKind.POLICY, title=heading[:500], text=text, source_key=key, policy_page=page
                )
            elif entry.title != heading[:500] or entry.text != text:
                entry.title, entry.text = heading[:500], text
                entry.save(update_fields=["title", "text", "updated_at"])
        KnowledgeEntry.objects.for_store(store).filter(policy_page=page).exclude(source_key__in=keep).delete()
        knowledge_version_bump(store=store)
    return page


def policy_page_delete(*, page: PolicyPage) -> None:
    store = page.store
    with transaction.atomic():
        page.delete()  # cascades to its chunks
        knowledge_version_bump(store=store, embed=False)


# --- product catalog -------------------------------------------------------------------------------------

def product_card(product: Product) -> str:
    """The product as knowledge: one short sentence per fact ("Battery life: 40 h."), so the answerer can pick the
    facts a question asks about and cite them one by one."""
    def fact(key: str, value) -> str:
        return f"{str(key).replace('_', ' ').strip().capitalize()}: {str(value).strip().rstrip('.')}."

    parts = [
        f"{product.title} (SKU {product.sku}).",
        fact("Brand", product.brand) if product.brand else "",
        fact("Category", product.category) if product.category else "",
        fact("Price", f"{product.price} {product.currency}"),
        "In stock." if product.stock > 0 else "Out of stock.",
        *(fact(k, v) for k, v in sorted((product.attributes or {}).items()) if str(v).strip()),
        (product.description or "")[:1000],
    ]
    return " ".join(p for p in parts if p)


def products_sync(*, store: Store) -> dict:
    """Mirror the store's active products into knowledge entries (create, update changed, delete gone)."""
    products = {p.pk: p for p in Product.objects.for_store(store).filter(status=ProductStatus.ACTIVE)}
    existing = {e.product_id: e for e in KnowledgeEntry.objects.for_store(store).filter(kind=KnowledgeKind.PRODUCT)}
    created = updated = 0
    with transaction.atomic():
        for pk, product in products.items():
            text, title = product_card(product), product.title[:500]
            entry = existing.get(pk)
            if entry is None:
                KnowledgeEntry.objects.create(
                    store=store, kind=KnowledgeKind.PRODUCT, title=title, text=text, product=product, source_key=f"product:{pk}"
                )
                created += 1
            elif entry.text != text or entry.title != title:
                entry.title, entry.text = title, text
                entry.save(update_fields=["title", "text", "updated_at"])
                updated += 1
        gone = [e.pk for pid, e in existing.items() if pid not in products]
        KnowledgeEntry.objects.for_store(store).filter(pk__in=gone).delete()
        if created or updated or gone:
            knowledge_version_bump(store=store)
    return {"created": created, "updated": updated, "deleted": len(gone)}


# --- import ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaqRow:
    line: int
    question: str
    answer: str
    intent: str = ""


class ImportError_(ValueError):
    """A file that cannot be imported; the message names the line."""


_PLACEHOLDER = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


def fill_placeholders(text: str, *, store_name: str) -> str:
    """Bitext responses carry template slots such as {{Website Name}}: fill the shop name, spell out the rest."""

    def repl(m: re.Match) -> str:
        name = m.group(1).strip()
        if name.lower() in {"website name", "company name", "store name", "online store"}:
            return store_name
        return name.lower()

    return _PLACEHOLDER.sub(repl, text)


def faq_rows_parse(raw: bytes, *, filename: str, store_name: str) -> list[FaqRow]:
    """Parse a CSV (question,answer | instruction,response[,intent]) or JSON ({"Questions": [...]} or a list).

    Raises ImportError_ naming the first bad line (CSV) or item (JSON)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_(f"{filename}: not valid UTF-8 (byte {exc.start}).") from None
    rows: list[FaqRow] = []
    if filename.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportError_(f"{filename}: invalid JSON at line {exc.lineno}: {exc.msg}.") from None
        items = data.get("Questions", data.get("questions", data.get("faq"))) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ImportError_(f"{filename}: expected a list of {{question, answer}} objects or {{\"Questions\": [...]}}.")
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise ImportError_(f"{filename}: item {n} is not an object.")
            q = str(item.get("question") or item.get("instruction") or "")
            a = str(item.get("answer") or item.get("response") or "")
            rows.append(FaqRow(n, q, a, str(item.get("intent") or "")))
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fields = {f.strip().lower(): f for f in (reader.fieldnames or [])}
        qf = fields.get("question") or fields.get("instruction")
        af = fields.get("answer") or fields.get("response")
        if not qf or not af:
            raise ImportError_(f"{filename}: line 1: need columns question,answer (or instruction,response); got {reader.fieldnames}.")
        intent_f = fields.get("intent")
        for record in reader:
            rows.append(FaqRow(reader.line_num, record.get(qf) or "", record.get(af) or "", (record.get(intent_f) or "") if intent_f else ""))
    if len(rows) > MAX_IMPORT_ROWS:
        raise ImportError_(f"{filename}: {len(rows):,} rows; at most {MAX_IMPORT_ROWS:,} per file. Split it and "
                           "upload the parts one after another (re-importing is idempotent).")
    cleaned = []
    for row in rows:
        q = clean_text(row.question, max_chars=MAX_QUESTION_CHARS + 1)
        a = clean_text(fill_placeholders(row.answer, store_name=store_name), max_chars=MAX_ANSWER_CHARS + 1)
        if errors := _validate_faq(q, a):
            where = "line" if not filename.lower().endswith(".json") else "item"
            raise ImportError_(f"{filename}: {where} {row.line}: " + "; ".join(errors.values()))
        cleaned.append(FaqRow(row.line, q, a, row.intent))
    if not cleaned:
        raise ImportError_(f"{filename}: no FAQ rows found.")
    return cleaned


def faq_import(*, store: Store, raw: bytes, filename: str, replace: bool = False) -> dict:
    """Validate every row first, then upsert by question in one transaction. Re-importing is idempotent."""
    rows = faq_rows_parse(raw, filename=filename, store_name=store.name)
    with transaction.atomic():
        qs = KnowledgeEntry.objects.for_store(store).filter(kind=KnowledgeKind.FAQ)
        if replace:
            qs.delete()
        existing = {e.title: e for e in qs}
        created = updated = 0
        new = []
        seen = set()
        for row in rows:
            if row.question in seen:
                continue
            seen.add(row.question)
            entry = existing.get(row.question)
            if entry is None:
                new.append(KnowledgeEntry(store=store, kind=KnowledgeKind.FAQ, title=row.question, text=row.answer,
                                          source_key=f"import:{Path(filename).name}"))
                created += 1
            elif entry.text != row.answer:
                entry.text = row.answer
                entry.save(update_fields=["text", "updated_at"])
                updated += 1
        KnowledgeEntry.objects.bulk_create(new, batch_size=500)
        knowledge_version_bump(store=store)
    return {"rows": len(rows), "created": created, "updated": updated, "unchanged": len(seen) - created - updated}
