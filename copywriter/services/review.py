"""Review workflow: draft -> (edited) -> approved -> published, or rejected; description history + restore.

Only owners and managers approve or publish; the role check lives here, so every door (page, API,
command) gets the same rule.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from copywriter.ml import facts as factlib
from copywriter.ml import relevance
from copywriter.models import OPEN_DRAFT_STATUSES, DescriptionDraft, DescriptionRevision, DraftStatus
from ecomops import hotcache
from ecomops.models import Membership, Product, Store
from ecomops.realtime import store_broadcast

from .generation import copywriter_settings, draft_payload, product_facts
from .store_policy import with_policy_sentences


class ReviewError(ValueError):
    """A review action that is not allowed in the draft's current state or by this user."""


class NotAllowed(PermissionError):
    """The user's role may not do this (analysts cannot approve or publish)."""


def _require_writer(store: Store, user) -> None:
    m = Membership.objects.filter(store=store, user=user).first() if user and user.is_authenticated else None
    if m is None or not m.can_write:
        raise NotAllowed("Only an owner or a manager can approve, reject or publish descriptions.")


def _locked(draft: DescriptionDraft) -> DescriptionDraft:
    return DescriptionDraft.objects.for_store(draft.store_id).select_for_update().get(pk=draft.pk)


def _broadcast(draft: DescriptionDraft) -> None:
    store_broadcast(draft.store_id, "copywriter.draft", {"draft": draft_payload(draft)})


def draft_edit(*, draft: DescriptionDraft, user, description: str, meta_title: str | None = None,
               meta_description: str | None = None) -> DescriptionDraft:
    """A human edit: the facts report is recomputed, so an edit can add (and show) unsupported facts too."""
    _require_writer(draft.store, user)
    description = (description or "").strip()
    if not description:
        raise ReviewError("The description cannot be empty.")
    with transaction.atomic():
        draft = _locked(draft)
        if draft.status not in {DraftStatus.DRAFT, DraftStatus.EDITED, DraftStatus.APPROVED}:
            raise ReviewError(f"A {draft.get_status_display().lower()} draft cannot be edited.")
        f = product_facts(draft.product)
        report = factlib.check_facts(description, title=f.title, brand=f.brand, category=f.category,
                                     attributes={**f.attributes, **_style_support(draft.options)})
        offtopic = relevance.off_topic_sentences(f, description)
        draft.description = description
        draft.offtopic_sentences = offtopic
        draft.meta_title = (meta_title if meta_title is not None else draft.meta_title)[:60]
        draft.meta_description = (meta_description if meta_description is not None else draft.meta_description)[:155]
        draft.unsupported_facts = report.unsupported_facts
        draft.covered_attributes = [a for a in report.covered_attributes if a in f.attributes]
        draft.missing_attributes = [a for a in report.missing_attributes if a in f.attributes]
        if "+human" not in draft.source:
            draft.source = (draft.source + "+human")[:40]
        draft.status = DraftStatus.EDITED  # an approved draft that is edited needs approving again
        draft.approved_at = None
        draft.save()
        _broadcast(draft)
    return draft


def _style_support(options: dict) -> dict:
    extra = {}
    if options.get("keywords"):
        kw = options["keywords"]
        extra["__keywords"] = ", ".join(kw) if isinstance(kw, list) else str(kw)
    if options.get("audience"):
        extra["__audience"] = options["audience"]
    return extra


def draft_approve(*, draft: DescriptionDraft, user, allow_unsupported: bool = False) -> DescriptionDraft:
    _require_writer(draft.store, user)
    with transaction.atomic():
        draft = _locked(draft)
        if draft.status not in {DraftStatus.DRAFT, DraftStatus.EDITED}:
            raise ReviewError(f"Only drafts can be approved; this one is {draft.get_status_display().lower()}.")
        if draft.unsupported_facts and not allow_unsupported:
            raise ReviewError(
                "This draft states facts that are not in the product data: "
                + ", ".join(f["text"] for f in draft.unsupported_facts[:5])
                + ". Edit them out, or approve explicitly acknowledging them."
            )
        if draft.offtopic_sentences and not allow_unsupported:
            raise ReviewError(
                "This draft has sentences that are not about this product: "
                + " / ".join(f"\u201c{o['text']}\u201d" for o in draft.offtopic_sentences[:3])
                + ". Edit them out, or approve explicitly acknowledging them."
            )
        draft.status = DraftStatus.APPROVED
        draft.reviewed_by = user
        draft.approved_at = timezone.now()
        draft.save(update_fields=["status", "reviewed_by", "approved_at", "updated_at"])
        _broadcast(draft)
    return draft


def draft_reject(*, draft: DescriptionDraft, user, reason: str) -> DescriptionDraft:
    _require_writer(draft.store, user)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("Give a reason for the rejection.")
    with transaction.atomic():
        draft = _locked(draft)
        if draft.status not in OPEN_DRAFT_STATUSES:
            raise ReviewError(f"A {draft.get_status_display().lower()} draft cannot be rejected.")
        draft.status = DraftStatus.REJECTED
        draft.reject_reason = reason[:500]
        draft.reviewed_by = user
        draft.save(update_fields=["status", "reject_reason", "reviewed_by", "updated_at"])
        _broadcast(draft)
    return draft


def current_description_is_human(product: Product) -> bool:
    """True when the live description was written by a person (or predates the copywriter)."""
    if not (product.description or "").strip():
        return False
    last = DescriptionRevision.objects.for_store(product.store_id).filter(product=product).first()
    if last is None:
        return True
    if last.description.strip() != product.description.strip():
        return True  # edited outside the copywriter (import, admin): a human wrote it
    return last.source == DescriptionRevision.Source.HUMAN


def _ensure_baseline_revision(product: Product) -> None:
    """Record the pre-existing text once, so history and restore can go back to it."""
    qs = DescriptionRevision.objects.for_store(product.store_id).filter(product=product)
    last = qs.first()
    if (product.description or "").strip() and (last is None or last.description.strip() != product.description.strip()):
        DescriptionRevision.objects.create(store_id=product.store_id, product=product, description=product.description,
                                           source=DescriptionRevision.Source.HUMAN)


def draft_publish(*, draft: DescriptionDraft, user, overwrite_human: bool = False) -> DescriptionDraft:
    """Write the approved draft to Product.description. Never publishes an unapproved draft."""
    _require_writer(draft.store, user)
    with transaction.atomic():
        draft = _locked(draft)
        if draft.status != DraftStatus.APPROVED:
            raise ReviewError("Only an approved draft can be published; approve it first.")
        product = Product.objects.for_store(draft.store_id).select_for_update().get(pk=draft.product_id)
        protect = copywriter_settings(draft.store)["protect_human_descriptions"]
        if protect and not overwrite_human and current_description_is_human(product):
            raise ReviewError(
                "This product has a human-written description and the store setting "
                "\"Don't overwrite human-written descriptions\" is on."
            )
        _ensure_baseline_revision(product)
        # the store's shipping and returns sentence survives the new copy (the draft page says so before publishing)
        product.description = with_policy_sentences(original=product.description, new=draft.description)
        product.save(update_fields=["description", "updated_at"])
        hotcache.bump(product.store_id, hotcache.CATALOG)  # the cached product lists show the new text
        # a draft a person rewrote counts as human text (and is then protected like any human description)
        source = DescriptionRevision.Source.HUMAN if "+human" in draft.source else DescriptionRevision.Source.MODEL
        DescriptionRevision.objects.create(store_id=product.store_id, product=product, description=product.description,
                                           source=source, model_label=draft.model_label, draft=draft, author=user)
        draft.status = DraftStatus.PUBLISHED
        draft.published_at = timezone.now()
        draft.save(update_fields=["status", "published_at", "updated_at"])
        _broadcast(draft)
    return draft


def drafts_bulk_approve(*, store: Store, user, draft_ids: list[int] | None = None) -> dict[str, list[int]]:
    """Approve every open draft (or the given ones) with no unsupported fact and no off-topic sentence;
    report the rest by reason (a draft with both counts as unsupported)."""
    _require_writer(store, user)
    qs = DescriptionDraft.objects.for_store(store).filter(status__in=[DraftStatus.DRAFT, DraftStatus.EDITED])
    if draft_ids is not None:
        qs = qs.filter(pk__in=draft_ids)
    approved, skipped, offtopic = [], [], []
    for draft in qs.select_related("store"):
        if draft.unsupported_facts:
            skipped.append(draft.pk)
            continue
        if draft.offtopic_sentences:
            offtopic.append(draft.pk)
            continue
        draft_approve(draft=draft, user=user)
        approved.append(draft.pk)
    return {"approved": approved, "skipped_unsupported": skipped, "skipped_offtopic": offtopic}


def revision_record_human(*, product: Product, user, description: str) -> DescriptionRevision:
    """A person edits the live description directly (product page)."""
    _require_writer(product.store, user)
    with transaction.atomic():
        _ensure_baseline_revision(product)
        product.description = description
        product.save(update_fields=["description", "updated_at"])
        hotcache.bump(product.store_id, hotcache.CATALOG)  # the cached product lists show the new text
        return DescriptionRevision.objects.create(store_id=product.store_id, product=product, description=description,
                                                  source=DescriptionRevision.Source.HUMAN, author=user)


def description_restore(*, revision: DescriptionRevision, user) -> DescriptionRevision:
    """One-click restore: the old text becomes the live description, recorded as a new revision."""
    _require_writer(revision.store, user)
    with transaction.atomic():
        product = Product.objects.for_store(revision.store_id).select_for_update().get(pk=revision.product_id)
        _ensure_baseline_revision(product)
        product.description = revision.description
        product.save(update_fields=["description", "updated_at"])
        hotcache.bump(product.store_id, hotcache.CATALOG)  # the cached product lists show the new text
        return DescriptionRevision.objects.create(
            store_id=product.store_id, product=product, description=revision.description,
            source=DescriptionRevision.Source.RESTORE, model_label=revision.model_label, author=user)
