"""An autocomplete for foreign keys to big tables: a text box that asks the server (htmx)
and a hidden input that holds the chosen id. Choices are never rendered in full."""

import json

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from crm.forms import SafeModelChoiceField, parse_id


class AutocompleteWidget(forms.Widget):
    """`params` go along with every request for suggestions (a deal's contacts are suggested from
    the people of its organization); the field's queryset still decides what may be saved."""

    template_name = "includes/autocomplete_widget.html"

    def __init__(self, url_name: str, attrs=None, params: dict | None = None):
        super().__init__(attrs)
        self.url_name = url_name
        self.params = params or {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        label = ""
        # A re-shown form may carry anything the user (or a bot) sent; only real ids are looked up.
        pk = parse_id(value)
        if pk is not None:
            field_queryset = getattr(self, "queryset", None)
            if field_queryset is not None:
                obj = field_queryset.filter(pk=pk).first()
                label = str(obj) if obj else ""
        context["widget"].update({
            "url": reverse(self.url_name), "label": label, "vals": json.dumps({"field": name, **self.params}),
        })
        return context


class AutocompleteModelChoiceField(SafeModelChoiceField):
    """A foreign key picked by typing a name. Set `queryset` to the records the user may pick
    (`visible_to(user)`): the suggestions show only those, and a posted id outside it is refused
    at the field as an invalid choice."""

    def __init__(self, queryset, *, url_name: str, **kwargs):
        kwargs.setdefault("widget", AutocompleteWidget(url_name))
        super().__init__(queryset, **kwargs)
        self.widget.queryset = queryset

    def _set_queryset(self, queryset):
        super()._set_queryset(queryset)
        self.widget.queryset = self.queryset

    queryset = property(SafeModelChoiceField._get_queryset, _set_queryset)


def autocomplete_options(objects, *, detail=None) -> list[dict]:
    """The suggestions an autocomplete view renders (includes/autocomplete_options.html):
    value, label and an optional second line, such as a person's organization."""
    return [{"value": obj.pk, "label": str(obj), "detail": detail(obj) if detail else ""} for obj in objects]


class FastSelect(forms.Select):
    """A <select> rendered in Python. Django renders every <option> through a template, which
    costs about 30 ms for a country list; list pages render several selects per request."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group_name, options, _index in widget["optgroups"]:
            rendered = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((o["value"], " selected" if o["selected"] else "", o["label"]) for o in options),
            )
            groups.append(format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered) if group_name else rendered)
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), format_html_join("", "{}", ((g,) for g in groups))
        )


def use_fast_selects(form) -> None:
    """Swap the plain single selects of a form for FastSelect (same attributes and choices)."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            fast = FastSelect(attrs=field.widget.attrs, choices=field.widget.choices)
            fast.is_required = field.widget.is_required
            field.widget = fast
