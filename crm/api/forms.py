"""Writes through the page's own ModelForm, so that a rule lives in one place: the API checks
exactly what the form checks (field rules, the model's clean() and constraints, duplicate
checks), with the form's messages.

The JSON body becomes form data: the fields the request names, and for the others on create the
empty form's defaults, on a partial update (PATCH) the record's current values, on a full
update (PUT) nothing.
"""

import copy
import datetime
import decimal
import functools
from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from crm import changefeed, customfields
from crm.api.exceptions import Conflict
from crm.api.representation import FastRepresentationMixin


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


def form_data(form_class, *, instance, changes: dict, partial: bool, form_kwargs: dict, extra: dict | None = None,
              create_defaults: dict | None = None, unbound=None):
    """`create_defaults`: in a batch, a dict that keeps what the empty form offers (the same for
    every new record of the batch), so that it is built once. `unbound`: the record's form, not
    yet bound, to read its current values from (else one is built)."""
    creating = instance is None or instance.pk is None
    key = (form_class.__name__, "create")
    if creating and create_defaults is not None and key in create_defaults:
        fields, defaults = create_defaults[key]
    else:
        # For a new record the form without an instance, as the create page shows it (its initial
        # values, the owner among them, are set only then).
        if unbound is None or creating:
            unbound = form_class(instance=None if creating else instance, **form_kwargs)
        fields = {name: (unbound.add_prefix(name), field) for name, field in unbound.fields.items()}
        defaults = {name: current_value(unbound[name]) for name in fields} if creating or partial else {}
        if creating and create_defaults is not None:
            create_defaults[key] = fields, defaults
    data = MultiValueDict()
    for name, (html_name, field) in fields.items():
        if name in changes:
            value = changes[name]
        elif creating or partial:
            # Create: what the empty form offers (the model's defaults, you as the owner), as a
            # browser posts the fields the user left alone. Partial update: the current value.
            value = defaults[name]
        else:
            continue  # full update (PUT): a field left out is emptied
        converted = form_value(field, value)
        data.setlist(html_name, converted if isinstance(converted, list) else [converted])
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
        elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.MultipleChoiceField):
            method = "validate"  # whether a value is among the choices (a country among 250)
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


def memoize_model_checks(instance, memo: dict) -> None:
    """The model's field checks (`Model.clean_fields`, which the form's validation calls) with the
    checks of choice fields and foreign keys looked up once per value for a whole batch: the
    same rules (a value among the choices, a referenced record that exists), without a query or
    a walk through 250 countries per record. Undone by `unmemoize_model_checks`."""
    label = instance._meta.label

    def clean_fields(exclude=None):
        exclude = set(exclude or ())
        errors = {}
        for field in instance._meta.fields:
            if field.name in exclude or getattr(field, "generated", False):
                continue
            raw_value = getattr(instance, field.attname)
            if field.blank and raw_value in field.empty_values:
                continue
            try:
                if field.choices is not None or field.is_relation:
                    key = (label, field.name, raw_value)
                    try:
                        hash(key)
                    except TypeError:
                        key = None
                    if key is None:
                        value = field.clean(raw_value, instance)
                    else:
                        if key not in memo:
                            try:
                                memo[key] = (True, field.clean(raw_value, instance))
                            except ValidationError as error:
                                memo[key] = (False, error)
                        passed, value = memo[key]
                        if not passed:
                            raise value
                else:
                    value = field.clean(raw_value, instance)
                setattr(instance, field.attname, value)
            except ValidationError as error:
                errors[field.name] = error.error_list
        if errors:
            raise ValidationError(errors)

    def validate_constraints(exclude=None):
        """Model.validate_constraints without the check constraints on a field the form does not
        hold (an external id): Django skips those too, after building a query for each."""
        names = set(exclude or ())
        kept = [(model, [c for c in constraints if not (names and _refers_to(c, names))])
                for model, constraints in type(instance).get_constraints(instance)]
        instance.get_constraints = lambda: kept
        try:
            type(instance).validate_constraints(instance, exclude=exclude)
        finally:
            del instance.get_constraints

    instance.clean_fields = clean_fields
    instance.validate_constraints = validate_constraints


def _refers_to(constraint, names: set) -> bool:
    """Whether a check constraint made of plain lookups (Q(field__lookup=value)) names one of `names`."""
    condition = getattr(constraint, "condition", None)
    if not isinstance(constraint, models.CheckConstraint) or not isinstance(condition, models.Q):
        return False
    lookups = []
    stack = [condition]
    while stack:
        node = stack.pop()
        for child in node.children:
            if isinstance(child, models.Q):
                stack.append(child)
            elif isinstance(child, tuple) and isinstance(child[0], str) and not hasattr(child[1], "resolve_expression"):
                lookups.append(child[0])
            else:
                return False  # an expression: let Django decide
    return any(lookup.split("__")[0] in names for lookup in lookups)


def unmemoize_model_checks(instance) -> None:
    instance.__dict__.pop("clean_fields", None)
    instance.__dict__.pop("validate_constraints", None)


def _field_copy(field, memo):
    """A form field's own copy for one form of a batch, sharing with the other forms what a form
    never changes in place (its widget, choices and queryset; a form sets a new queryset rather
    than changing one): its attributes are the form's own, so a form that changes one (memoized
    lookups, a required flag) changes it for itself."""
    result = copy.copy(field)
    memo[id(field)] = result
    result.validators = field.validators[:]
    return result


def batch_form_class(form_class):
    """The form class for the forms of one batch: the same class, whose fields are copied for
    each form without their widgets, choices and querysets (a form deep-copies its fields when it
    is built; for a country field that is 250 choices each time, for a choice of records a new
    queryset). The API reads no widget but to take the posted value."""
    fields = {}
    for name, field in form_class.base_fields.items():
        field = copy.deepcopy(field)
        field.__deepcopy__ = functools.partial(_field_copy, field)
        fields[name] = field
    batch_class = type(form_class.__name__, (form_class,), {"__module__": form_class.__module__})
    batch_class.base_fields = fields  # after the metaclass, which builds them anew
    return batch_class


class FormWriteMixin:
    """A ModelSerializer whose writes go through `form_class` (the page's form)."""

    form_class: type[forms.ModelForm] = None
    confirm_field = "confirm_new"
    choice_memo: dict | None = None  # in a batch: the record choices its forms looked up

    def batch_prepare(self, records: list) -> None:
        """Before a batch upsert: load once what all its records' checks need."""
        self.choice_memo = {}
        self.batch_forms = {}  # form class -> its batch_form_class
        self.create_defaults = {}

    def batch_saved(self, obj) -> None:
        """After a record of a batch was saved: keep what batch_prepare loaded current."""

    def get_validators(self):
        return []  # the form checks the model's constraints
    def form_kwargs(self) -> dict:
        return {}

    def form_extra_data(self, data: Mapping) -> dict:
        """Further form data a form reads itself (the employment rows of a person's form)."""
        return {}

    def custom_field_data(self, data: Mapping) -> dict:
        """The form data of the record's custom fields (CustomFieldsSerializerMixin)."""
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
        extra = {**self.form_extra_data(data), **self.custom_field_data(data)}
        if data.get(self.confirm_field) is True:
            extra[self.confirm_field] = "on"
        form_class = self.form_class
        batch = self.choice_memo is not None
        if batch:
            if form_class not in self.batch_forms:
                self.batch_forms[form_class] = batch_form_class(form_class)
            form_class = self.batch_forms[form_class]
        form_kwargs = self.form_kwargs()
        # In a batch, a changed record's form is built once: unbound, its current values are read
        # from it, then it is bound to the data (the forms read their data when they validate,
        # never when they are built).
        unbound = form_class(instance=instance, **form_kwargs) if batch and instance.pk is not None else None
        form_data_ = form_data(
            form_class, instance=instance, changes=changes, partial=self.partial,
            form_kwargs=form_kwargs, extra=extra, create_defaults=self.create_defaults if batch else None,
            unbound=unbound,
        )
        if unbound is not None:
            form = unbound
            form.data, form.is_bound, form._errors = form_data_, True, None
            form._bound_fields_cache.clear()
        else:
            form = form_class(data=form_data_, instance=instance, **form_kwargs)
        if batch:
            memoize_choices(form, self.choice_memo)
            memoize_model_checks(instance, self.choice_memo)
        try:
            valid = form.is_valid()
        finally:
            unmemoize_model_checks(instance)
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
        with changefeed.one_change(savepoint=False):  # the view's transaction (or the batch's) rolls back whole
            return super().save(**kwargs)

    def create(self, validated_data):
        return validated_data["form"].save()

    def update(self, instance, validated_data):
        return validated_data["form"].save()


class FormSerializer(FormWriteMixin, FastRepresentationMixin, serializers.ModelSerializer):
    pass


def _posted(value):
    """A JSON value of a custom field as a browser would post it (crm.customfields checks it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_posted(item) for item in value]
    return str(value)


@extend_schema_field({
    "type": "object", "additionalProperties": {},
    "description": "The custom fields you may see, by key (null where empty). A write names only the keys it changes.",
})
class CustomFieldsField(serializers.Field):
    """The record's custom fields as one object, with only the fields the reader may see."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, value):
        model = self.parent.Meta.model
        return customfields.represent(model, value, user=self.context.get("user"))

    def to_internal_value(self, data):
        return data  # checked by the form (FormWriteMixin)


# For a FormSerializer whose form has custom fields (crm.customfields.CustomFieldsFormMixin):
# `custom_fields` in the JSON body becomes the form's fields; errors come back under it. (A comment,
# not a docstring: the API schema would show it as the description of every serializer using it.)
class CustomFieldsSerializerMixin:

    def custom_field_data(self, data):
        extra = {}
        values = data.get("custom_fields")
        if values is None:
            return extra
        user = self.context.get("user")
        try:
            customfields.clean_values(self.Meta.model, values, user=user, instance=self.instance)
        except ValidationError as error:
            raise exceptions.ValidationError({"custom_fields": error.message_dict}) from None
        editable = {d.key for d in customfields.definitions(self.Meta.model, user) if customfields.can_edit(d, user)}
        for key, value in values.items():
            if key in editable:
                posted = _posted(value)
                extra[customfields.FORM_PREFIX + key] = posted
        return extra

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except exceptions.ValidationError as error:
            detail = error.detail
            if isinstance(detail, dict) and any(str(k).startswith(customfields.FORM_PREFIX) for k in detail):
                fields = {k[len(customfields.FORM_PREFIX):]: v for k, v in detail.items()
                          if str(k).startswith(customfields.FORM_PREFIX)}
                rest = {k: v for k, v in detail.items() if not str(k).startswith(customfields.FORM_PREFIX)}
                raise exceptions.ValidationError({**rest, "custom_fields": fields}) from None
            raise
