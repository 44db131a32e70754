from django import template
from django.utils.translation import gettext as _

from crm import recordpage

register = template.Library()


@register.inclusion_tag("includes/sort_header.html", takes_context=True)
def sort_header(context, key: str, label: str):
    """A column heading that sorts the list by `key`, toggling the direction; the URL keeps filters."""
    current = context.get("sort", "")
    active = current.lstrip("-") == key
    descending = active and current.startswith("-")
    params = context["request"].GET.copy()
    params["sort"] = key if (not active or descending) else f"-{key}"
    params.pop("page", None)
    return {
        "label": label,
        "url": f"?{params.urlencode()}",
        "active": active,
        "descending": descending,
        "aria_sort": ("descending" if descending else "ascending") if active else "none",
        "title": _("Sort by %(label)s") % {"label": label},
    }


@register.simple_tag(takes_context=True)
def page_url(context, page_number: int) -> str:
    params = context["request"].GET.copy()
    params["page"] = page_number
    return f"?{params.urlencode()}"


@register.filter
def user_label(user) -> str:
    if not user:
        return ""
    return user.get_full_name() or user.username


@register.inclusion_tag("includes/record_actions.html", takes_context=True)
def record_actions(context, obj):
    """Buttons that other apps register for this kind of record (crm.recordpage)."""
    return {"actions": recordpage.actions_for(obj, context["request"].user)}


@register.inclusion_tag("includes/record_panels.html", takes_context=True)
def record_panels(context, obj):
    """Cards that other apps register for this kind of record (crm.recordpage)."""
    return {"panels": recordpage.render_panels(context["request"], obj)}
