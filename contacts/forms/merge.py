"""The merge form: for every field where two records differ, which record's value stays."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.services.duplicates import KEEP_SURVIVOR, TAKE_OTHER, merge_fields

STALE = "stale"


def display_value(record, field) -> str:
    """A field's value as the record's page would show it; "" when empty."""
    value = getattr(record, field.attname)
    if value in field.empty_values:
        return ""
    if field.choices:
        return str(record._get_FIELD_display(field))
    if field.is_relation:
        related = getattr(record, field.name)
        full_name = getattr(related, "get_full_name", None)
        return (full_name() if full_name else "") or str(related)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return formats.date_format(value, "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal | float | int):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if hasattr(value, "as_international"):  # phone numbers
        return value.as_international
    return str(value)


def version(record) -> str:
    """Changes whenever the record is saved, so a merge never acts on values nobody saw."""
    updated = getattr(record, "updated_at", None)
    return updated.isoformat() if updated else ""


@dataclass
class MergeRow:
    label: str
    survivor_value: str
    other_value: str
    bound_field: forms.BoundField | None = None  # a choice, when the values differ


class MergeForm(forms.Form):
    survivor_version = forms.CharField(widget=forms.HiddenInput, required=False)
    other_version = forms.CharField(widget=forms.HiddenInput, required=False)

    empty_label = gettext_lazy("(empty)")

    def __init__(self, *args, survivor, other, **kwargs):
        super().__init__(*args, **kwargs)
        self.survivor, self.other = survivor, other
        self.fields["survivor_version"].initial = version(survivor)
        self.fields["other_version"].initial = version(other)
        self.choice_names: dict[str, str] = {}  # form field -> model field
        rows = []
        for field in merge_fields(type(survivor)):
            ours, theirs = getattr(survivor, field.attname), getattr(other, field.attname)
            ours_empty, theirs_empty = ours in field.empty_values, theirs in field.empty_values
            if ours_empty and theirs_empty:
                continue
            label = str(capfirst(field.verbose_name))
            row = MergeRow(label, display_value(survivor, field), display_value(other, field))
            if ours != theirs:
                name = f"field_{field.name}"
                self.fields[name] = forms.ChoiceField(
                    label=label,
                    choices=[
                        (KEEP_SURVIVOR, row.survivor_value or self.empty_label),
                        (TAKE_OTHER, row.other_value or self.empty_label),
                    ],
                    initial=TAKE_OTHER if ours_empty else KEEP_SURVIVOR,
                    widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                )
                self.choice_names[name] = field.name
            rows.append((row, name if ours != theirs else None))
        self.rows = [MergeRow(r.label, r.survivor_value, r.other_value, self[n] if n else None) for r, n in rows]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("survivor_version") != version(self.survivor) or cleaned.get("other_version") != version(
            self.other
        ):
            raise ValidationError(
                _("One of the records was changed since this page was opened. Please check the values again."),
                code=STALE,
            )
        return cleaned

    @property
    def is_stale(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, STALE)

    def field_values(self) -> dict[str, str]:
        """For person_merge/organization_merge: {model field: "survivor" or "other"}."""
        return {model_name: self.cleaned_data[name] for name, model_name in self.choice_names.items()}
