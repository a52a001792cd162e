from django import template

from categories import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def product_suggestions(context, product):
    """The pending suggestions of the page's product, scoped to the page's store."""
    store = context.get("store")
    if store is None or product is None or product.store_id != store.pk:
        return {"category": None, "attributes": []}
    return selectors.product_suggestions(store, product)
