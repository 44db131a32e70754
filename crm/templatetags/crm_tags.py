import re

from django import template
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import recordpage
from crm.money import format_money

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
def money(value, currency=None) -> str:
    """`{{ deal.amount|money:deal.currency }}`: "25.820,00 €" / "€25,820.00"; without a currency
    the company currency. The one way a template writes an amount (crm.money.format_money)."""
    return format_money(value, currency or None)


@register.filter
def money_whole(value, currency=None) -> str:
    """`{{ total|money_whole }}`: the same rounded to whole units ("25.820 €")."""
    return format_money(value, currency or None, whole=True)


@register.simple_tag
def unconverted_mark(count) -> str:
    """Next to a converted total: how many deals it leaves out for lack of an exchange rate."""
    if not count:
        return ""
    title = ngettext(
        "%(n)s deal without an exchange rate is not included",
        "%(n)s deals without an exchange rate are not included", count,
    ) % {"n": count}
    return format_html(
        '<span class="badge text-bg-warning ms-1" title="{}" data-testid="unconverted-mark">+{} <span class="visually-hidden">{}</span></span>',
        title, count, title,
    )


@register.filter
def user_label(user) -> str:
    if not user:
        return ""
    return user.get_full_name() or user.username


@register.inclusion_tag("includes/record_actions.html", takes_context=True)
def record_actions(context, obj):
    """Buttons that other apps register for this kind of record (crm.recordpage)."""
    return {"actions": recordpage.actions_for(obj, context["request"].user)}


@register.inclusion_tag("includes/record_danger_zone.html", takes_context=True)
def record_danger_zone(context, obj, delete_url="", delete_text=""):
    """The record page's marked place for what cannot be undone: deleting it (`delete_url`, for
    those who may) and the destructive actions other apps register (a GDPR erasure)."""
    actions = recordpage.actions_for(obj, context["request"].user, destructive=True)
    return {"actions": actions, "delete_url": delete_url, "delete_text": delete_text, "object": obj}


@register.inclusion_tag("includes/record_panels.html", takes_context=True)
def record_panels(context, obj):
    """Cards that other apps register for this kind of record (crm.recordpage)."""
    return {"panels": recordpage.render_panels(context["request"], obj)}


# A web address we link to: http(s), a host right after the slashes, no whitespace or control
# characters anywhere (browsers drop those, which is how "java\tscript:" gets through checks).
_WEB_ADDRESS = re.compile(r"https?://[^\s/\\?#@]+(?:[/?#][^\s]*)?", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def is_web_address(value) -> bool:
    text = str(value or "")
    return bool(_WEB_ADDRESS.fullmatch(text)) and not _INVISIBLE.search(text)


@register.filter(is_safe=True)
def web_link(value):
    """A stored address as a link that opens in a new tab, only for http and https; anything else
    (javascript:, data:, a typo, plain text such as a phone number) is shown as escaped text.
    Every template that shows an address from a record uses this filter, whatever path the
    address took into the database (form, import, API, admin, ORM)."""
    if value in (None, ""):
        return ""
    if is_web_address(value):
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', value, value)
    return escape(value)
