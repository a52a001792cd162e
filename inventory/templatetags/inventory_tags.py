"""Inventory pieces other pages show: the KPI anomaly banner (Overview) and a product's forecast (product detail)."""

from __future__ import annotations

import numpy as np
from django import template

from inventory import selectors

register = template.Library()


@register.inclusion_tag("inventory/_overview_anomalies.html", takes_context=True)
def inventory_anomaly_banner(context) -> dict:
    store = context["store"]
    return {"store": store, "anomalies": list(selectors.recent_anomalies(store, days=7)[:10])}


@register.inclusion_tag("inventory/_product_forecast.html", takes_context=True)
def inventory_product_forecast(context, product) -> dict:
    from inventory.views import forecast_chart

    store = context["store"]
    fc = selectors.product_forecast(store, product)
    return {
        "store": store, "forecast": fc, "chart_json": forecast_chart(fc),
        "total_28": float(np.sum(fc.mean[:28])) if fc else 0.0,
    }
