"""Celery wiring. Tasks live in each app's tasks.py; queues: default, inference, training, simulation.

A worker that consumes the ``inference`` queue loads the language model once per worker process when the
process starts, so the first copy job does not wait at "Loading the model…". The main process writes any
derived model file first (before forking, once); a prefork child then loads the model in a background thread
(``worker_process_init`` must return within Celery's 4 s child start-up limit; a task that arrives meanwhile
waits on the runtime's cache lock, not on a second load). Solo/threads pools run tasks in the main process: it
loads the model there, in a background thread started at ``worker_ready`` (loading it inside ``celeryd_init``
stalled the worker's start-up: it never printed its banner). ECOMOPS_LLM_WARM_UP=0 skips all of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import Celery
from celery.signals import celeryd_init, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")

app = Celery("ecomops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)
WARM_QUEUE = "inference"
_warm = {"enabled": False, "in_main": False}  # decided in the main process, inherited by forked children


def _queues(options: dict) -> set[str]:
    raw = options.get("queues") or []
    if isinstance(raw, str):
        raw = raw.split(",")
    return {q.strip() for q in raw if q and q.strip()}


def warm_language_model() -> None:
    """Load the base language model into this process (the runtime's per-process cache) and decode a token."""
    from ecomops.ml import llm

    t0 = time.perf_counter()
    try:
        llm.warm_up()
    except Exception:  # a broken model must not keep the worker from serving its other queues
        logger.exception("language model warm-up failed; the first inference task will load it")
        return
    logger.info("language model ready in %.1f s (pid %s)", time.perf_counter() - t0, os.getpid())
    t0 = time.perf_counter()
    try:  # the sentence embedder that copy jobs vet drafts with and support retrieves with
        from ecomops.ml import embedder

        embedder.load_embedder()
    except Exception:
        logger.exception("sentence embedder warm-up failed; the first task that needs it will load it")
        return
    logger.info("sentence embedder ready in %.1f s (pid %s)", time.perf_counter() - t0, os.getpid())


@celeryd_init.connect
def _decide_warm_up(sender=None, conf=None, options=None, **_kwargs) -> None:
    options = options or {}
    queues = _queues(options) or {conf.task_default_queue if conf is not None else "default"}
    _warm["enabled"] = WARM_QUEUE in queues and os.environ.get("ECOMOPS_LLM_WARM_UP", "1") != "0"
    pool = str(options.get("pool") or (conf.worker_pool if conf is not None else "prefork"))
    _warm["in_main"] = pool.rsplit(".", 1)[-1].lower() in {"solo", "threads", "threadpool"}
    if not _warm["enabled"] or _warm["in_main"]:
        return
    try:  # files only, no native model in the parent: children must not inherit llama.cpp threads
        from ecomops.ml import llm

        llm.base_batch_gguf()
        llm.base_stream_gguf()
    except Exception:
        logger.exception("could not prepare the language model files; children will try again")


def _warm_in_background() -> None:
    threading.Thread(target=warm_language_model, name="llm-warm-up", daemon=True).start()


@worker_process_init.connect
def _warm_child(**_kwargs) -> None:
    if _warm["enabled"]:
        _warm_in_background()


@worker_ready.connect
def _warm_main(**_kwargs) -> None:
    if _warm["enabled"] and _warm["in_main"]:  # no child processes: this one runs the tasks
        _warm_in_background()
