from django import template
from django.utils.safestring import mark_safe

from search.ml.highlight import highlight_html

register = template.Library()


@register.filter
def highlight(text, terms):
    """`text` with the search terms in <mark>; highlight_html escapes everything it does not wrap."""
    if not terms:
        return text
    return mark_safe(highlight_html(str(text or ""), list(terms)))  # noqa: S308 - escaped by highlight_html
