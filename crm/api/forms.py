"""Writes through the page's own ModelForm, so that a rule lives in one place: the API checks
exactly what the form checks (field rules, the model's clean() and constraints, duplicate
checks), with the form's messages.

The JSON body becomes form data: the fields the request names, and for the others on create the
empty form's defaults, on a partial update (PATCH) the record's current values, on a full
update (PUT) nothing.
"""

import datetime
import decimal
from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers

from crm import changefeed
from crm.api.exceptions import Conflict


def form_value(field: forms.Field, value):
    """One JSON value as the string(s) a browser would post for `field`."""
    if value is None:
        return [] if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField) else ""
    if isinstance(field, forms.BooleanField):
        return "on" if value is True or str(value).lower() in {"true", "on", "1"} else ""
    if isinstance(value, (list, tuple)):
        return [form_value(forms.CharField(), item) for item in value]
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (dict, float)) or isinstance(value, bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def current_value(bound_field):
    """The value an unbound form shows for a record, in the shape it would be posted."""
    value = bound_field.value()
    if hasattr(value, "as_e164"):
        return value.as_e164
    return value


def form_data(form_class, *, instance, changes: dict, partial: bool, form_kwargs: dict, extra: dict | None = None):
    creating = instance is None or instance.pk is None
    # For a new record the form without an instance, as the create page shows it (its initial
    # values, the owner among them, are set only then).
    unbound = form_class(instance=None if creating else instance, **form_kwargs)
    data = MultiValueDict()
    for name, field in unbound.fields.items():
        if name in changes:
            value = changes[name]
        elif creating or partial:
            # Create: what the empty form offers (the model's defaults, you as the owner), as a
            # browser posts the fields the user left alone. Partial update: the current value.
            value = current_value(unbound[name])
        else:
            continue  # full update (PUT): a field left out is emptied
        converted = form_value(field, value)
        data.setlist(unbound.add_prefix(name), converted if isinstance(converted, list) else [converted])
    for key, value in (extra or {}).items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def form_errors(form) -> dict:
    errors = {}
    for name, messages in form.errors.items():
        key = "non_field_errors" if name == NON_FIELD_ERRORS else name
        errors[key] = [str(m) for m in messages]
    return errors


def _similar(candidate) -> dict:
    record = getattr(candidate, "record", candidate)
    entry = {"id": record.pk, "name": str(record)}
    if hasattr(candidate, "reason_label"):
        entry["reason"] = str(candidate.reason_label)
    return entry


def similar_conflict(records: list) -> Conflict:
    return Conflict(
        _("Similar records already exist. Send the request again with “confirm_new”: true if this is a new one."),
        extra={"similar": [_similar(candidate) for candidate in records]},
    )


def memoize_choices(form, memo: dict) -> None:
    """The form's choices of records (owner, tags) looked up once per value for all the forms of
    a batch: the same rule, without a query per record. A refusal is remembered too."""
    form_name = type(form).__name__
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelMultipleChoiceField):
            method = "_check_values"
        elif isinstance(field, forms.ModelChoiceField):
            method = "to_python"
        else:
            continue
        original = getattr(field, method)

        def cached(value, _original=original, _key=(form_name, name)):
            try:
                key = (*_key, tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else value)
                hash(key)
            except TypeError:
                return _original(value)
            if key not in memo:
                try:
                    result = _original(value)
                    memo[key] = (True, list(result) if isinstance(result, models.QuerySet) else result)
                except ValidationError as error:
                    memo[key] = (False, error)
            passed, result = memo[key]
            if not passed:
                raise result
            return result

        setattr(field, method, cached)


class FormWriteMixin:
    """A ModelSerializer whose writes go through `form_class` (the page's form)."""

    form_class: type[forms.ModelForm] = None
    confirm_field = "confirm_new"
    choice_memo: dict | None = None  # in a batch: the record choices its forms looked up

    def batch_prepare(self, records: list) -> None:
        """Before a batch upsert: load once what all its records' checks need."""
        self.choice_memo = {}

    def batch_saved(self, obj) -> None:
        """After a record of a batch was saved: keep what batch_prepare loaded current."""

    def get_validators(self):
        return []  # the form checks the model's constraints
    def form_kwargs(self) -> dict:
        return {}

    def form_extra_data(self, data: Mapping) -> dict:
        """Further form data a form reads itself (the employment rows of a person's form)."""
        return {}

    def prepare_instance(self, instance, data: Mapping):
        """Sets what the form does not hold (external ids, the subject of an activity)."""
        return instance

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise exceptions.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        writable = {name for name, field in self.fields.items() if not field.read_only}
        changes = {name: data[name] for name in writable if name in data}
        instance = self.instance if self.instance is not None else self.new_instance()
        self.prepare_instance(instance, data)
        extra = self.form_extra_data(data)
        if data.get(self.confirm_field) is True:
            extra[self.confirm_field] = "on"
        form_data_ = form_data(
            self.form_class, instance=instance, changes=changes, partial=self.partial,
            form_kwargs=self.form_kwargs(), extra=extra,
        )
        form = self.form_class(data=form_data_, instance=instance, **self.form_kwargs())
        if self.choice_memo is not None:
            memoize_choices(form, self.choice_memo)
        valid = form.is_valid()
        if not valid and form.has_error(NON_FIELD_ERRORS, "similar_exists"):
            raise similar_conflict(getattr(form, "similar", []))
        if not valid:
            raise exceptions.ValidationError(form_errors(form))
        self.validate_after_form(form, data)
        return {"form": form}

    def new_instance(self):
        return self.Meta.model()

    def validate_after_form(self, form, data) -> None:
        """Rules over what the form did not check, before anything is saved."""

    def save(self, **kwargs):
        # The record with its many-to-many fields and related rows (saved after it) is one
        # change: one entry in the change feed, a webhook payload that shows them as saved.
        with changefeed.one_change():
            return super().save(**kwargs)

    def create(self, validated_data):
        return validated_data["form"].save()

    def update(self, instance, validated_data):
        return validated_data["form"].save()


class FormSerializer(FormWriteMixin, serializers.ModelSerializer):
    pass
