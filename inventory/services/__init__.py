"""Writes and actions of inventory, one module per concern: stock, purchasing, forecasting, anomalies, and the
evaluation data readers."""
