"""Starting and running generation jobs; store settings of the copywriter."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from copywriter.ml import generate as gen
from copywriter.ml.generate import BadProductInput, Options, ProductFacts
from copywriter.models import CopywriterModel, DescriptionDraft
from ecomops.models import Job, JobStatus, Product, Store
from ecomops.realtime import store_broadcast
from ecomops.services.jobs import JobCancelled, job_create, job_progress

logger = logging.getLogger(__name__)

GENERATE_JOB_KIND = "copywriter_generate"
# Products per decode call. One: each draft lands (and the progress moves) one product at a time, so a merchant sees
# the job advance product by product from its first seconds. Four fill the runtime's 16 parallel sequences and cost
# ~25-30% less CPU per draft (4 products: 12.6-15.1 CPU-s as one batch vs 18.5 as four, measured under load 8), but
# the progress then moves four products at a time with the longest stall; API callers may still ask for it.
BATCH_SIZE = 1
# Progress: 0-1 loading the language model, 2 the sentence checker, 3-99 the products (one step each), 100 done.
PCT_PRODUCTS = 3
MAX_PRODUCTS_PER_JOB = 500
# "writer": who writes each planned sentence. "model": SmolLM2 rewrites it and the vetted rewrite is kept (else the
# planner's sentence stands in); "plan" (the default): the planner's sentences as they are, no language model. The
# default follows the blind reads of three unseen catalogues (README, docs/copywriter_blind_read/blind20c-e): a
# merchandiser found 30 of 60 planner drafts publishable after a light edit against 20 of 60 with the model's
# sentences, and preferred the planner's draft 19 times to 13. A store switches in Copywriter -> Settings.
WRITERS = ("model", "plan")
DEFAULT_SETTINGS = {"protect_human_descriptions": True, "brand_voice": "", "n_candidates": 3, "writer": "plan"}


def copywriter_settings(store: Store) -> dict[str, Any]:
    return {**DEFAULT_SETTINGS, **(store.settings or {}).get("copywriter", {})}


def copywriter_settings_update(*, store: Store, protect_human_descriptions: bool | None = None,
                               brand_voice: str | None = None, writer: str | None = None) -> dict[str, Any]:
    if writer is not None and writer not in WRITERS:
        raise ValueError(f"Unknown writer {writer!r}; choose one of {', '.join(WRITERS)}.")
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        current = dict((store.settings or {}).get("copywriter", {}))
        if protect_human_descriptions is not None:
            current["protect_human_descriptions"] = bool(protect_human_descriptions)
        if brand_voice is not None:
            current["brand_voice"] = brand_voice.strip()[:500]
        if writer is not None:
            current["writer"] = writer
        store.settings = {**(store.settings or {}), "copywriter": current}
        store.save(update_fields=["settings"])
    return {**DEFAULT_SETTINGS, **current}


def product_facts(product: Product) -> ProductFacts:
    """Raises BadProductInput (a ValueError) for a product without title or attributes."""
    try:
        return ProductFacts.build(title=product.title, brand=product.brand, category=product.category,
                                  attributes=product.attributes or {})
    except BadProductInput as exc:
        raise BadProductInput(f"{product.sku}: {exc}") from None


def products_for_generation(*, store: Store, skus: Sequence[str] | None = None,
                            filters: dict[str, Any] | None = None):
    qs = Product.objects.for_store(store)
    if skus:
        qs = qs.filter(sku__in=list(skus))
    filters = filters or {}
    if filters.get("category"):
        qs = qs.filter(category__icontains=filters["category"])
    if filters.get("brand"):
        qs = qs.filter(brand__iexact=filters["brand"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("missing_description"):
        qs = qs.filter(Q(description="") | Q(description__isnull=True))
    return qs.order_by("pk")


def generation_start(*, store: Store, user, skus: Sequence[str] | None = None, filters: dict | None = None,
                     options: dict | None = None, stream: bool = False,
                     max_new_tokens: int | None = None) -> Job:
    """Validate everything first (unknown sku, no title/attributes, bad options -> ValueError), then a Job."""
    opts = dict(options or {})
    for key in ("keywords", "avoid_words", "avoid"):  # the page's form sends "a, b"; the job's declared parameters take a list
        if isinstance(opts.get(key), str):
            opts[key] = [w.strip() for w in opts[key].split(",") if w.strip()]
    if opts.get("tone") == "brand" and not opts.get("brand_voice"):
        opts["brand_voice"] = copywriter_settings(store)["brand_voice"]
    Options.from_dict(opts)  # raises ValueError on bad tone/length
    if not skus and not filters:
        raise ValueError("Choose products: a list of SKUs or a filter.")
    products = list(products_for_generation(store=store, skus=skus, filters=filters)[: MAX_PRODUCTS_PER_JOB + 1])
    if skus:
        missing = sorted(set(skus) - {p.sku for p in products})
        if missing:
            raise ValueError(f"Unknown SKU(s) in this store: {', '.join(missing[:10])}.")
    if not products:
        raise ValueError("No products match this selection.")
    if len(products) > MAX_PRODUCTS_PER_JOB:
        raise ValueError(f"At most {MAX_PRODUCTS_PER_JOB} products per job; narrow the filter.")
    bad = []
    for p in products:
        try:
            product_facts(p)
        except BadProductInput as exc:
            bad.append(str(exc))
    if bad and (skus or len(bad) == len(products)):
        raise BadProductInput("; ".join(bad[:10]))
    version = CopywriterModel.objects.for_store(store).filter(is_active=True).first()
    return job_create(
        store=store, kind=GENERATE_JOB_KIND, created_by=user,
        params={"product_ids": [p.pk for p in products], "options": opts, "stream": bool(stream),
                "version_id": version.pk if version else None, "max_new_tokens": max_new_tokens},
    )


def draft_payload(draft: DescriptionDraft) -> dict[str, Any]:
    return {
        "id": draft.pk, "product_id": draft.product_id, "sku": draft.product.sku, "title": draft.product.title,
        "status": draft.status, "description": draft.description, "bullets": draft.bullets,
        "meta_title": draft.meta_title, "meta_description": draft.meta_description,
        "unsupported_facts": draft.unsupported_facts, "offtopic_sentences": draft.offtopic_sentences,
        "covered_attributes": draft.covered_attributes, "missing_attributes": draft.missing_attributes,
        "warnings": draft.warnings, "source": draft.source, "model_label": draft.model_label,
        "job_id": str(draft.job_id) if draft.job_id else None,
    }


def _save_draft(*, job: Job, product: Product, d: gen.Draft, options: dict, version, label: str) -> DescriptionDraft:
    with transaction.atomic():
        draft = DescriptionDraft.objects.create(
            store_id=job.store_id, product=product, job=job, description=d.description, bullets=d.bullets,
            meta_title=d.meta_title[:60], meta_description=d.meta_description[:155],
            unsupported_facts=d.unsupported_facts, offtopic_sentences=d.offtopic_sentences,
            covered_attributes=d.covered_attributes, missing_attributes=d.missing_attributes, warnings=d.warnings,
            options=options, source=d.source, model_version=version, model_label=label[:80], raw_text=d.raw_text,
            new_tokens=d.new_tokens, created_by=job.created_by,
        )
        store_broadcast(job.store_id, "copywriter.draft", {"draft": draft_payload(draft)})
    return draft


def _cancel_check(job: Job):
    """Polled while decoding: heartbeat (a long batch is not a dead worker) and report whether someone asked
    to cancel, so a cancel lands mid-batch rather than after it."""

    def should_stop() -> bool:
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
        return Job.objects.filter(pk=job.pk, cancel_requested=True).exists()

    return should_stop


def products_pct(done: int, total: int) -> int:
    """The job's percentage once `done` of `total` products are written: PCT_PRODUCTS..99, one product a step
    (never 100 before the job has succeeded)."""
    return min(99, PCT_PRODUCTS + (99 - PCT_PRODUCTS) * done // max(total, 1))


def _load_checker(job: Job) -> None:
    from ecomops.ml import embedder

    if not embedder.is_loaded():
        job_progress(job=job, progress=2, message="Loading the sentence checker…")
        embedder.load_embedder()


def _load_models(job: Job, version: CopywriterModel | None):
    """The job's first stages, each reported before it starts: the language model (usually already loaded by the
    worker's warm-up: then nothing to wait for), then the sentence checker (MiniLM) the drafts are vetted with."""
    from ecomops.ml import embedder, llm

    state = llm.load_state(version.path if version is not None else None)
    if state == "loading":
        job_progress(job=job, progress=1, message="The worker is still loading the language model…")
    elif state == "absent":
        job_progress(job=job, progress=1, message=f"Loading the language model ({runtime_label(version)})…")
    model, label = _model_for(version)
    if not embedder.is_loaded():
        job_progress(job=job, progress=2, message="The worker is still loading the sentence checker…"
                     if embedder.is_loading() else "Loading the sentence checker…")
        embedder.load_embedder()
    return model, label


def runtime_label(version: CopywriterModel | None) -> str:
    from copywriter import runtime

    return runtime.label_for(version)


def _model_for(version: CopywriterModel | None):
    """(LanguageModel, label) of a version (None: the base model), through the runtime's per-process cache."""
    from copywriter import runtime

    return runtime.language_model(version), runtime.label_for(version)


def run_generation_job(job: Job, *, product_ids: list[int], options: dict, stream: bool = False,
                       version_id: int | None = None, batch_size: int = BATCH_SIZE,
                       max_new_tokens: int | None = None) -> dict[str, Any]:
    """One product streamed sentence by sentence (only vetted sentences are sent), or many in batches whose
    sentences decode together; each draft is committed, broadcast and counted in the progress as it lands.

    ``max_new_tokens`` is accepted for old callers; every sentence has its own small cap."""
    store = job.store
    opts = Options.from_dict(options)
    version = CopywriterModel.objects.for_store(store).filter(pk=version_id).first() if version_id else None
    settings = copywriter_settings(store)
    plan_only = settings.get("writer") == "plan"
    if plan_only:  # the planner's sentences: no language model to load, only the sentence checker
        model, label = None, "plan"
        _load_checker(job)
    else:
        model, label = _load_models(job, version)
    n_candidates = int(settings["n_candidates"])
    by_id = {p.pk: p for p in Product.objects.for_store(store).filter(pk__in=product_ids)}
    products = [by_id[i] for i in product_ids if i in by_id]
    if stream and len(products) == 1:
        return _run_stream(job, products[0], opts, options, version, model, label)
    done, skipped, stats, draft_ids = 0, [], gen.BulkStats(), []
    total = len(products)

    def advance(n: int = 1) -> None:
        nonlocal done
        done += n
        job_progress(job=job, progress=products_pct(done, total),
                     message=f"{done} of {total} product{'s' if total != 1 else ''} written")

    job_progress(job=job, progress=PCT_PRODUCTS, message=f"Writing product 1 of {total}…")
    for start in range(0, total, batch_size):
        batch = products[start: start + batch_size]
        facts_list, kept = [], []
        for p in batch:
            try:
                facts_list.append(product_facts(p))
                kept.append(p)
            except BadProductInput as exc:
                skipped.append(str(exc))
                advance()
        try:
            if plan_only:
                drafts = [gen.template_draft(f, opts) for f in facts_list]
                stats.sentences += sum(len(d.sentences) for d in drafts)
            else:
                drafts = gen.write_drafts(model, facts_list, opts, n_candidates=n_candidates, stats=stats,
                                          source_label=label, seed=start, should_stop=_cancel_check(job)) \
                    if facts_list else []
        except gen.GenerationStopped:
            # cancelled while this batch was decoding: earlier drafts stay, this batch is dropped
            raise JobCancelled() from None
        for p, d in zip(kept, drafts, strict=True):
            draft_ids.append(_save_draft(job=job, product=p, d=d, options=options, version=version, label=label).pk)
            advance()
    return {"drafts": draft_ids, "skipped": skipped, "new_tokens": stats.new_tokens,
            "tokens_per_s": round(stats.tokens_per_s, 2), "model": label,
            "model_sentence_share": round(stats.model_sentences / stats.sentences, 4) if stats.sentences else None}


def _run_stream(job: Job, product: Product, opts: Options, options: dict, version, model, label: str) -> dict:
    facts = product_facts(product)
    items = gen.stream_plan(facts, opts, should_stop=_cancel_check(job)) if model is None else \
        gen.stream_draft(model, facts, opts, source_label=label, should_stop=_cancel_check(job))
    for item in items:
        if isinstance(item, gen.Draft):
            draft = _save_draft(job=job, product=product, d=item, options=options, version=version, label=label)
            return {"drafts": [draft.pk], "skipped": [], "new_tokens": item.new_tokens, "model": label}
        # a sentence that passed every check (or its stand-in): the raw token stream never leaves the worker
        store_broadcast(store_id=job.store_id, message_type="copywriter.sentence",
                        data={"job_id": str(job.pk), "product_id": product.pk, "index": item.index,
                              "text": item.text, "source": item.source, "total": item.total}, on_commit=False)
        job_progress(job=job, progress=5 + int(90 * (item.index + 1) / item.total),
                     message=f"Sentence {item.index + 1}/{item.total}")
    raise JobCancelled()  # stream_draft ends without a draft only when should_stop fired
