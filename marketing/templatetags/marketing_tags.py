from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def get_item(mapping, key):
    """A dict value by key in a template (figures per campaign id)."""
    return mapping.get(key) if mapping else None


@register.filter
def percent(part, whole) -> str:
    try:
        return f"{number_format(round(100 * part / whole, 1), 1)} %" if whole else "–"
    except (TypeError, ValueError):
        return "–"
