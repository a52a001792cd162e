"""Every periodic task can really be sent: each beat entry goes through beat's own `Scheduler.apply_async`.

The entries come from CELERY_BEAT_SCHEDULE through django-celery-beat's DatabaseScheduler (the scheduler `make
run` uses), so the options beat passes (queue, expires) meet the task's own limits exactly as in production.
The messages go to an in-memory broker and are read back: nothing reaches the shared Redis.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from ecomops.celery import app as celery_app

# transaction=True: the DatabaseScheduler closes stale DB connections as beat does, which a test transaction
# would not survive.
pytestmark = [pytest.mark.quick, pytest.mark.django_db(transaction=True)]


def test_every_beat_entry_is_sent_by_beat_with_consistent_limits():
    celery_app.loader.import_default_modules()
    scheduler = DatabaseScheduler(app=celery_app, lazy=True)
    scheduler.setup_schedule()
    entries = scheduler.schedule
    assert set(settings.CELERY_BEAT_SCHEDULE) <= set(entries)
    with celery_app.connection_for_write("memory://") as connection:
        producer = celery_app.amqp.Producer(connection, auto_declare=True)
        for name, declared in settings.CELERY_BEAT_SCHEDULE.items():
            entry = entries[name]
            task = celery_app.tasks[declared["task"]]
            hard, soft = task.time_limit, task.soft_time_limit
            assert hard and soft and soft < hard, f"{declared['task']}: time_limit={hard} soft_time_limit={soft}"
            # Raises SchedulingError("Couldn't apply scheduled task ...") exactly where beat would log it.
            scheduler.apply_async(entry, producer=producer, advance=False)
            queue = declared["options"]["queue"]
            message = connection.SimpleQueue(queue).get(timeout=2)
            assert message.headers["task"] == declared["task"]
            assert message.headers["timelimit"] == [hard, soft]
            if "expire_seconds" in declared["options"]:  # a backlog is dropped, not replayed
                assert message.headers.get("expires"), f"{name}: the expiry was lost on the way"
            message.ack()


def test_the_reaper_runs_more_often_than_the_heartbeat_timeout():
    reap_every = settings.CELERY_BEAT_SCHEDULE["reap-stale-jobs"]["schedule"]
    assert reap_every <= settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT / 2
