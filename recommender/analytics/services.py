"""Actions of behaviour analytics: the live broadcast (and its rate-limited ingest hook)."""

from .live import analytics_live_broadcast, on_events_ingested

__all__ = ["analytics_live_broadcast", "on_events_ingested"]
