from django import template

register = template.Library()


@register.filter
def signed_pct(value) -> str:
    """0.123 -> '+12.3%'; None -> '—'."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f}%"
