"""Form fields shared by all apps."""

from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import ModelChoiceField as FilterModelChoiceField


class OverflowSafeMixin:
    """Ids too big for the database make SQLite raise OverflowError, which Django does not
    catch: treat them as the invalid choice they are."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


class SafeModelChoiceField(OverflowSafeMixin, forms.ModelChoiceField):
    pass


class SafeFilterModelChoiceField(OverflowSafeMixin, FilterModelChoiceField):
    pass


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        try:
            return super()._check_values(value)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": "…"})
