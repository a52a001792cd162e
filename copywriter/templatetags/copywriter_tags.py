"""`{% copywriter_product_panel %}`: the Generate panel on the shared product page, safe without our context."""

from django import template

from copywriter import selectors
from copywriter.ml.generate import TONES

register = template.Library()


@register.inclusion_tag("copywriter/_product_panel_inner.html", takes_context=True)
def copywriter_product_panel(context):
    product, store = context.get("product"), context.get("store")
    if product is None or store is None or getattr(product, "store_id", None) != store.pk:
        return {"enabled": False}
    access = context.get("store_access")
    return {
        "enabled": True, "product": product, "store": store, "tones": TONES,
        "can_write": bool(access and access.can_write),
        "drafts": selectors.drafts_for(store, product=product)[:3],
        "csrf_token": context.get("csrf_token"),
    }
