import re

from django import template

register = template.Library()


@register.filter
def signed_pct(value) -> str:
    """0.123 -> '+12.3%'; None -> '—'."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f}%"


@register.filter
def job_label(kind: str) -> str:
    """A job kind's human label ("copywriter_generate" -> "Generate product descriptions")."""
    from ecomops.services.jobs import job_kinds

    registered = job_kinds().get(kind)
    return registered.label if registered else kind.replace("_", " ").capitalize()


# Throughput figures in progress messages are for engineers (bench/ has them); a merchant reads the count.
_THROUGHPUT = re.compile(r"\s*[·,;-]?\s*\d+(?:\.\d+)?\s*tok(?:ens)?/s", re.IGNORECASE)


@register.filter
def job_message(message: str) -> str:
    """A job's progress message without engineering figures ("3/10 products · 41.2 tok/s" -> "3/10 products")."""
    return _THROUGHPUT.sub("", message or "").strip()


@register.filter
def humanize_code(value: str) -> str:
    """An internal code as words: "track_order" -> "Track order"; empty -> "—"."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "—"
