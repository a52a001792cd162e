"""Reads of the copywriter, always scoped to a store."""

from __future__ import annotations

import difflib

from django.db.models import Q

from copywriter.models import CopywriterModel, DescriptionDraft, DescriptionRevision, EvaluationReport


def drafts_for(store, *, status: str | None = None, product=None, unsupported: bool | None = None):
    qs = DescriptionDraft.objects.for_store(store).select_related("product", "model_version")
    if status:
        qs = qs.filter(status=status)
    if product is not None:
        qs = qs.filter(product=product)
    if unsupported is True:
        qs = qs.exclude(unsupported_facts=[])
    elif unsupported is False:
        qs = qs.filter(unsupported_facts=[])
    return qs


def revisions_for(store, product):
    return DescriptionRevision.objects.for_store(store).filter(product=product).select_related("author")


def model_versions(store):
    return CopywriterModel.objects.for_store(store)


def evaluation_reports(store):
    return EvaluationReport.objects.filter(Q(store=store) | Q(store__isnull=True))


def revision_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff as (op, text) pairs, op in {"equal", "insert", "delete"} for the review UI."""
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
        else:
            if i2 > i1:
                out.append(("delete", " ".join(a[i1:i2])))
            if j2 > j1:
                out.append(("insert", " ".join(b[j1:j2])))
    return out
