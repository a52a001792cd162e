"""Celery wiring. Tasks live in each app's tasks.py; queues: default, inference, training, simulation."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")

app = Celery("ecomops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
