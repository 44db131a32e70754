"""An autocomplete for foreign keys to big tables: a text box that asks the server (htmx)
and a hidden input that holds the chosen id. Choices are never rendered in full."""

from django import forms
from django.urls import reverse

from crm.forms import SafeModelChoiceField


class AutocompleteWidget(forms.Widget):
    template_name = "includes/autocomplete_widget.html"

    def __init__(self, url_name: str, attrs=None):
        super().__init__(attrs)
        self.url_name = url_name

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        label = ""
        # A re-shown form may carry anything the user (or a bot) sent; only real ids are looked up.
        if str(value).isdigit() and len(str(value)) < 19:
            field_queryset = getattr(self, "queryset", None)
            if field_queryset is not None:
                obj = field_queryset.filter(pk=value).first()
                label = str(obj) if obj else ""
        context["widget"].update({"url": reverse(self.url_name), "label": label})
        return context


class AutocompleteModelChoiceField(SafeModelChoiceField):
    def __init__(self, queryset, *, url_name: str, **kwargs):
        kwargs.setdefault("widget", AutocompleteWidget(url_name))
        super().__init__(queryset, **kwargs)
        self.widget.queryset = queryset
