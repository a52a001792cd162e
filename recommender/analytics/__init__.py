"""Behaviour analytics: funnels, retention, lifecycle, RFM, top products, trends, paths and live counters.

Everything is computed in the database (SQL aggregation and window functions; see sql.py for the few
PostgreSQL/SQLite differences). `selectors` is the public read API; `live` holds the ingest hook.
"""
