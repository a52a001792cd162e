"""The reindex job: thin door into search.services.search_reindex (STYLE.md §3)."""

from __future__ import annotations

from rest_framework import serializers

from ecomops.job_params import JobParamsSerializer
from ecomops.services.jobs import job_progress
from ecomops.tasks_base import job_task
from search.services import REINDEX_KIND, search_reindex


class ReindexParams(JobParamsSerializer):
    full = serializers.BooleanField(required=False, default=False,
                                    help_text="Re-embed every product, not only new and changed ones")


@job_task(kind=REINDEX_KIND, queue="inference", label="Update the search index", time_limit=3600,
          params=ReindexParams, max_concurrent=2)
def search_reindex_job(job, full: bool = False, listener=None):
    def progress(pct: int, message: str) -> None:
        job_progress(job=job, progress=pct, message=message)
        if listener is not None:
            listener(pct, message)

    return search_reindex(store=job.store, full=full, on_progress=progress)
