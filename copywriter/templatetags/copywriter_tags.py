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


@register.filter
def highlight_unsupported(text: str, facts) -> str:
    """The draft text with each unsupported claim wrapped in <mark> (escaped first, so this is safe HTML)."""
    import re

    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    html = str(escape(text or ""))
    needles = sorted({str(escape(f.get("text", ""))) for f in (facts or []) if f.get("text")}, key=len, reverse=True)
    if needles:
        pattern = re.compile("|".join(re.escape(n) for n in needles), re.I)
        html = pattern.sub(lambda m: f'<mark class="unsupported">{m.group(0)}</mark>', html)
    return mark_safe(html)  # noqa: S308 - built from escaped text only


@register.filter
def highlight_offtopic(html, sentences) -> str:
    """After ``highlight_unsupported``: wrap each sentence the relevance check flagged in <mark class="offtopic">
    (matched on the escaped text, so the result stays safe HTML)."""
    import re

    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    out = str(html)
    for o in sentences or []:
        needle = str(escape(o.get("text", "")))
        if needle:
            title = escape(o.get("reason", "off-topic"))
            out = re.sub(re.escape(needle), lambda m, t=title: f'<mark class="offtopic" title="{t}">{m.group(0)}</mark>',
                         out, count=1)
    return mark_safe(out)  # noqa: S308 - built from escaped text only
