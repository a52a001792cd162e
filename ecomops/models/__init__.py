from .catalog import Product, ProductStatus
from .customers import Customer
from .events import Event, EventType
from .jobs import Job, JobStatus
from .orders import Order, OrderLine, OrderStatus
from .rollups import DailyStoreStats
from .stores import Membership, Role, Store

__all__ = [
    "Customer",
    "DailyStoreStats",
    "Event",
    "EventType",
    "Job",
    "JobStatus",
    "Membership",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Product",
    "ProductStatus",
    "Role",
    "Store",
]
