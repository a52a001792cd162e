"""Small display helpers for the dashboard templates."""

from django import template

register = template.Library()


@register.filter
def attribute_label(key) -> str:
    """'battery_life' -> 'Battery life' (product attribute keys as people read them)."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
