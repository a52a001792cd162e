"""The public read API of behaviour analytics (STYLE.md: selectors are reads, always scoped to one store)."""

from .explore import PathsSpec, event_trends, paths_after, top_categories, top_products
from .funnel import FunnelSpec, funnel_conversion
from .live import analytics_live_snapshot
from .retention import LifecycleSpec, RetentionSpec, lifecycle, retention_matrix
from .rfm import SEGMENTS, RfmSpec, rfm_customers, rfm_table

__all__ = [
    "SEGMENTS",
    "FunnelSpec",
    "LifecycleSpec",
    "PathsSpec",
    "RetentionSpec",
    "RfmSpec",
    "analytics_live_snapshot",
    "event_trends",
    "funnel_conversion",
    "lifecycle",
    "paths_after",
    "retention_matrix",
    "rfm_customers",
    "rfm_table",
    "top_categories",
    "top_products",
]
