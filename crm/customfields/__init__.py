"""Custom fields: fields admins add to people, organizations, leads, deals, tickets and
appointments without code (definitions: crm.models.CustomField).

Each of these models stores the values in one JSON column, `custom_fields` ({key: value}), with a
GIN index on Postgres (`postgres_gin_index_operations`). Every write path goes through
`clean_values()`: the record forms (`CustomFieldsFormMixin`, which the API's writes use too, as
they go through the forms), the import and the merge. It knows who may see and who may change
each field (`view_roles`, `edit_roles`: empty means everyone who may see or change the record;
admins always may).

Stored values are plain JSON: text as a string, whole numbers as numbers, decimals and money as
strings ("1234.50", exact), dates as "YYYY-MM-DD", yes/no as true/false, a choice as its text,
multiple choices as a list, a person, organization or user as its id.
"""

import datetime
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import migrations
from django.utils import formats
from django.utils.translation import gettext as _

from crm.roles import Role, user_roles

MODEL_KEYS = (
    "contacts.person", "contacts.organization", "sales.lead", "sales.deal", "service.ticket", "appointments.appointment",
)
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
FORM_PREFIX = "cf_"
MAX_TEXT = 500
MAX_LONG_TEXT = 10_000
MAX_INTEGER = 2**53  # what a JSON number holds exactly in every client
MAX_DIGITS = 15
TRUE_WORDS = {"true", "1", "yes", "ja", "on", "wahr", "x"}
FALSE_WORDS = {"false", "0", "no", "nein", "off", "falsch"}
REFERENCE_TYPES = {"person": "contacts.Person", "organization": "contacts.Organization", "user": None}
REFERENCE_AUTOCOMPLETE = {"person": "contacts:person_autocomplete", "organization": "contacts:organization_autocomplete"}


def _model():
    from crm.models import CustomField

    return CustomField


def model_key(model) -> str:
    return model if isinstance(model, str) else model._meta.label_lower


# --- the definitions, and who sees them ---------------------------------------------------------


def definitions(model, user=None) -> list:
    """The model's field definitions in their order, loaded once per user object (that is, per
    request: views and API batches ask again and again)."""
    key = model_key(model)
    cache = getattr(user, "_crm_custom_fields", None) if user is not None else None
    if cache is not None and key in cache:
        return cache[key]
    found = list(_model().objects.filter(model=key).order_by("group", "order", "pk"))
    if user is not None:
        if cache is None:
            cache = {}
            user._crm_custom_fields = cache
        cache[key] = found
    return found


def forget_definitions(user) -> None:
    user.__dict__.pop("_crm_custom_fields", None)


def _allowed(roles: list, user) -> bool:
    if user is None:
        return True  # the system itself: the erasure, a management command
    held = user_roles(user)
    return Role.ADMIN.value in held or not roles or bool(held & set(roles))


def can_view(definition, user) -> bool:
    return _allowed(definition.view_roles, user)


def can_edit(definition, user) -> bool:
    return can_view(definition, user) and _allowed(definition.edit_roles, user)


def visible(model, user) -> list:
    return [d for d in definitions(model, user) if can_view(d, user)]


# --- one value ----------------------------------------------------------------------------------


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def _decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a number."), code="invalid")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\xa0", "").replace("€", "")
        if "," in text and "." in text:  # 1.234,50 or 1,234.50: the last one separates the decimals
            thousands = "." if text.rfind(",") > text.rfind(".") else ","
            text = text.replace(thousands, "")
        text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValidationError(_("Enter a number."), code="invalid") from None
    else:
        raise ValidationError(_("Enter a number."), code="invalid")
    if not number.is_finite() or len(number.as_tuple().digits) > MAX_DIGITS or abs(number) >= Decimal(10) ** MAX_DIGITS:
        raise ValidationError(_("Enter a number of at most %(digits)s digits.") % {"digits": MAX_DIGITS}, code="invalid")
    return number


def _integer(value) -> int:
    if isinstance(value, bool):
        raise ValidationError(_("Enter a whole number."), code="invalid")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = _decimal(value)
        except ValidationError:
            raise ValidationError(_("Enter a whole number."), code="invalid") from None
        if number != number.to_integral_value():
            raise ValidationError(_("Enter a whole number."), code="invalid")
        number = int(number)
    if abs(number) > MAX_INTEGER:
        raise ValidationError(_("Enter a whole number between -%(limit)s and %(limit)s.") % {"limit": MAX_INTEGER},
                              code="invalid")
    return number


def _date(value) -> str:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%m/%d/%Y"):
            try:
                return datetime.datetime.strptime(text, pattern).date().isoformat()
            except ValueError:
                continue
    raise ValidationError(_("Enter a date such as 31.12.2026 or 2026-12-31."), code="invalid")


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("Enter yes or no."), code="invalid")


def _text(value, limit: int) -> str:
    if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
        raise ValidationError(_("Enter text."), code="invalid")
    text = str(value).strip()
    if "\x00" in text:
        raise ValidationError(_("The text holds a character that cannot be stored."), code="invalid")
    if len(text) > limit:
        raise ValidationError(_("Enter at most %(limit)s characters.") % {"limit": limit}, code="max_length")
    return text


def _choice(definition, value) -> str:
    text = _text(value, MAX_TEXT)
    for choice in definition.choices:
        if text.casefold() == str(choice).casefold():
            return choice
    raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": text[:100]}, code="invalid_choice")


def _choices(definition, value) -> list:
    if isinstance(value, str):
        value = [part for part in re.split(r"[;\n|]", value) if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValidationError(_("Send a list of choices."), code="invalid")
    chosen = {_choice(definition, item) for item in value if not is_empty(item)}
    return [choice for choice in definition.choices if choice in chosen]


def _phone(value) -> str:
    import phonenumbers

    text = _text(value, 40)
    try:
        number = phonenumbers.parse(text, getattr(settings, "PHONENUMBER_DEFAULT_REGION", "DE"))
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number, e.g. +49 30 1234567."), code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def reference_queryset(definition, user):
    """The records a reference field may point at: those the user may see (all for the system)."""
    if definition.type == "user":
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(is_active=True)
    model = apps.get_model(REFERENCE_TYPES[definition.type])
    return model.objects.visible_to(user) if user is not None else model._base_manager.all()


def _reference(definition, value, user) -> int:
    pk = getattr(value, "pk", value)
    try:
        pk = _integer(pk)
    except ValidationError:
        pk = None
    if pk is None or pk <= 0 or not reference_queryset(definition, user).filter(pk=pk).exists():
        raise ValidationError(_("Choose a record from the list."), code="invalid_choice")
    return pk


def clean_value(definition, value, *, user=None):
    """`value` (posted text, a JSON value from the API, a cell of an import) as it is stored, or
    a ValidationError with a message for the person who entered it. None for an empty value."""
    if is_empty(value) or (isinstance(value, list | tuple) and all(is_empty(item) for item in value)):
        return None
    kind = definition.type
    if kind == "text":
        return _text(value, MAX_TEXT)
    if kind == "long_text":
        return _text(value, MAX_LONG_TEXT)
    if kind == "integer":
        return _integer(value)
    if kind == "decimal":
        number = _decimal(value)
        # 12.50 stays as entered; 1E+1 (what normalize() makes of 10) does not happen
        return str(number.quantize(Decimal(1)) if number == number.to_integral_value() else number)
    if kind == "money":
        return str(_decimal(value).quantize(Decimal("0.01")))
    if kind == "date":
        return _date(value)
    if kind == "boolean":
        return _boolean(value)
    if kind == "choice":
        return _choice(definition, value)
    if kind == "multiple_choice":
        return _choices(definition, value) or None
    if kind == "url":
        text = _text(value, MAX_TEXT)
        if "://" not in text:
            text = f"https://{text}"
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            raise ValidationError(_("Enter a web address such as https://example.com."), code="invalid") from None
        return text
    if kind == "email":
        text = _text(value, 254).lower()
        try:
            EmailValidator()(text)
        except ValidationError:
            raise ValidationError(_("Enter a valid email address."), code="invalid") from None
        return text
    if kind == "phone":
        return _phone(value)
    if kind in REFERENCE_TYPES:
        return _reference(definition, value, user)
    raise ValidationError(_("This field has an unknown type."), code="invalid")


def clean_values(model, data: dict, *, user=None, instance=None) -> dict:
    """The record's new `custom_fields`: its current values with `data` ({key: raw value}) applied.

    Raises ValidationError({key: [messages]}) for bad values, unknown keys, fields the user may
    not change and required fields left empty (on a new record, the defaults fill what `data`
    leaves out). Values of fields the user may not see or change stay as they are."""
    if not isinstance(data, dict):
        raise ValidationError({"__all__": [_("Send an object of field keys and values.")]})
    by_key = {d.key: d for d in definitions(model, user)}
    current = dict(getattr(instance, "custom_fields", None) or {})
    creating = instance is None or instance.pk is None
    errors = defaultdict(list)
    result = dict(current)
    for key, raw in data.items():
        definition = by_key.get(key)
        if definition is None or not can_view(definition, user):
            errors[str(key)[:60]].append(_("There is no such field."))
            continue
        if not can_edit(definition, user):
            if clean_or_none(definition, raw, user) != current.get(key):
                errors[key].append(_("You may not change this field."))
            continue
        try:
            value = clean_value(definition, raw, user=user)
        except ValidationError as error:
            errors[key].extend(error.messages)
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    for key, definition in by_key.items():
        if not can_edit(definition, user) or key in errors:
            continue
        if creating and key not in data and definition.default is not None and key not in result:
            try:
                result[key] = clean_value(definition, definition.default, user=None)
            except ValidationError:
                pass  # a default that no longer fits (its choice was removed): the field stays empty
        if definition.required and is_empty(result.get(key)):
            errors[key].append(_("This field is required."))
    if errors:
        raise ValidationError(dict(errors))
    return result


def clean_or_none(definition, value, user):
    try:
        return clean_value(definition, value, user=user)
    except ValidationError:
        return object()  # differs from every stored value


# --- showing values -----------------------------------------------------------------------------


def reference_names(pairs, user) -> dict:
    """{(type, pk): name} for the references among `pairs` ((definition, value)), one query per
    kind of record; a record the user may not see (or since deleted) is left out."""
    wanted = defaultdict(set)
    for definition, value in pairs:
        if definition.type in REFERENCE_TYPES and isinstance(value, int):
            wanted[definition.type].add(value)
    names = {}
    for kind, ids in wanted.items():
        queryset = reference_queryset(next(d for d, _v in pairs if d.type == kind), user)
        for obj in queryset.filter(pk__in=ids):
            names[(kind, obj.pk)] = (obj.get_full_name() or obj.get_username()) if kind == "user" else str(obj)
    return names


def display(definition, value, names: dict | None = None) -> str:
    """A stored value as text in the reader's language ("1.234,50 €", "31.12.2026", "Ja")."""
    if is_empty(value):
        return ""
    kind = definition.type
    try:
        if kind == "boolean":
            return _("Yes") if value else _("No")
        if kind == "date":
            return formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")
        if kind == "money":
            from crm.money import company_currency, format_money

            return format_money(Decimal(value), company_currency())
        if kind in ("decimal", "integer"):
            return formats.number_format(Decimal(str(value)), use_l10n=True, force_grouping=True)
        if kind == "multiple_choice":
            return ", ".join(str(v) for v in value)
        if kind in REFERENCE_TYPES:
            return (names or {}).get((kind, value)) or f"#{value}"
        if kind == "phone":
            import phonenumbers

            try:
                number = phonenumbers.parse(value)
            except phonenumbers.NumberParseException:
                return str(value)
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except (ValueError, TypeError, ArithmeticError, AttributeError):  # a value stored before the type was changed
        return str(value)
    return str(value)


def record_groups(obj, user) -> list[tuple[str, list[dict]]]:
    """The values the user may see on a record's page, by group: [(group, [{label, text, ...}])].
    One query for the definitions (once per request) and one per kind of referenced record."""
    values = getattr(obj, "custom_fields", None) or {}
    shown = [(d, values.get(d.key)) for d in visible(obj, user)]
    names = reference_names([(d, v) for d, v in shown if not is_empty(v)], user)
    groups: dict[str, list] = {}
    for definition, value in shown:
        groups.setdefault(definition.group, []).append({
            "key": definition.key, "label": definition.label, "type": definition.type, "value": value,
            "text": display(definition, value, names), "help": definition.help_text,
        })
    return list(groups.items())


def represent(model, values, *, user) -> dict:
    """The API's `custom_fields` object: every field the user may see, null where empty."""
    values = values or {}
    return {d.key: values.get(d.key) for d in visible(model, user)}


def export_columns(model, user) -> list:
    """The definitions whose values a file export of `model` for `user` carries."""
    return visible(model, user)


def export_value(definition, values: dict, names: dict | None = None) -> str:
    value = (values or {}).get(definition.key)
    if is_empty(value):
        return ""
    if definition.type == "multiple_choice":
        return "; ".join(value)
    if definition.type in ("decimal", "money"):
        return str(value).replace(".", ",")  # as the export writes amounts, for a German Excel
    if definition.type == "date":
        try:
            return datetime.date.fromisoformat(value)  # written as the export writes dates
        except (TypeError, ValueError):
            return str(value)
    if definition.type == "boolean":
        return _("Yes") if value else _("No")
    if definition.type in REFERENCE_TYPES:
        return (names or {}).get((definition.type, value)) or str(value)
    return str(value)


# --- data protection ----------------------------------------------------------------------------


def personal_export(model, values, *, personal_only: bool = False) -> dict:
    """The record's values by label, for the data export: all of them for the person's own
    records (art. 15: all that is stored about them), only those of fields marked as personal
    data for records about something else that name the person (a deal)."""
    values = values or {}
    by_key = {d.key: d for d in definitions(model)}
    return {
        (by_key[key].label if key in by_key else key): value for key, value in values.items()
        if not personal_only or (key in by_key and by_key[key].is_personal)
    }


def erased(model, values) -> dict:
    """`values` without those of fields marked as personal data (and of keys no definition
    explains any more: nobody can tell what they hold)."""
    values = values or {}
    keep = {d.key for d in definitions(model) if not d.is_personal}
    return {key: value for key, value in values.items() if key in keep}


# --- forms --------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class CustomValueField(forms.Field):
    """A form field for one custom field: it carries the posted value to `clean_values` (the one
    place that checks it) and shows the stored one in the right widget."""

    def __init__(self, definition, user, **kwargs):
        self.definition = definition
        kind = definition.type
        if kind == "long_text":
            widget = forms.Textarea(attrs={"rows": 3})
        elif kind in ("integer", "decimal", "money"):
            widget = forms.TextInput(attrs={"inputmode": "numeric" if kind == "integer" else "decimal"})
        elif kind == "date":
            widget = DateInput(format="%Y-%m-%d")
        elif kind == "boolean":
            widget = forms.NullBooleanSelect()
        elif kind == "choice":
            widget = forms.Select(choices=[("", "—"), *((c, c) for c in definition.choices)])
        elif kind == "multiple_choice":
            widget = forms.CheckboxSelectMultiple(choices=[(c, c) for c in definition.choices])
        elif kind == "url":
            widget = forms.URLInput()
        elif kind == "email":
            widget = forms.EmailInput()
        elif kind == "phone":
            widget = forms.TextInput(attrs={"type": "tel"})
        elif kind in REFERENCE_AUTOCOMPLETE:
            from crm.widgets import AutocompleteWidget

            widget = AutocompleteWidget(REFERENCE_AUTOCOMPLETE[kind])
            widget.queryset = reference_queryset(definition, user)
        elif kind == "user":
            from django.contrib.auth import get_user_model

            users = get_user_model().objects.filter(is_active=True, groups__name__in=list(Role.values)).distinct()
            widget = forms.Select(choices=[("", "—"), *((u.pk, u.get_full_name() or u.get_username())
                                                        for u in users.order_by("first_name", "last_name"))])
        else:
            widget = forms.TextInput(attrs={"maxlength": MAX_TEXT})
        super().__init__(
            label=definition.label, help_text=definition.help_text, widget=widget,
            required=definition.required and kind != "boolean", **kwargs,
        )

    def to_python(self, value):
        return value.strip() if isinstance(value, str) else value

    def prepare_value(self, value):
        """A stored value as the widget shows it: decimals in the reader's notation (1234,5)."""
        if self.definition.type in ("decimal", "money") and isinstance(value, str) and value:
            try:
                return formats.number_format(Decimal(value), use_l10n=True)
            except (InvalidOperation, ValueError):
                return value
        return value


class CustomFieldsFormMixin:
    """For a record's ModelForm (before forms.ModelForm in the bases; the form takes `user`):
    adds the custom fields the user may see, read-only where they may not change them, and
    stores the checked values in the record's `custom_fields`. The form calls
    `self.add_custom_fields(user)` at the end of its __init__."""

    custom_field_definitions: list = []

    def add_custom_fields(self, user) -> None:
        """Called at the end of the form's __init__."""
        self.custom_fields_user = user
        model = self._meta.model
        stored = self.instance.custom_fields or {}
        creating = self.instance.pk is None
        self.custom_field_definitions = []
        for definition in visible(model, user):
            name = FORM_PREFIX + definition.key
            field = CustomValueField(definition, user)
            if creating and definition.default is not None:
                field.initial = definition.default
            else:
                field.initial = stored.get(definition.key)
            if not can_edit(definition, user):
                field.disabled = True
                field.required = False
                field.help_text = _("Only some roles may change this field.")
            self.fields[name] = field
            self.custom_field_definitions.append(definition)

    def cleaned_record_data(self) -> dict:
        """cleaned_data as a service that sets fields takes it: the custom fields as one value."""
        data = {name: value for name, value in self.cleaned_data.items() if not name.startswith(FORM_PREFIX)}
        data["custom_fields"] = self.instance.custom_fields
        return data

    def standard_fields(self):
        return [f for f in self.visible_fields() if not f.name.startswith(FORM_PREFIX)]

    def custom_field_groups(self):
        groups: dict[str, list] = {}
        for definition in self.custom_field_definitions:
            groups.setdefault(definition.group, []).append(self[FORM_PREFIX + definition.key])
        return list(groups.items())

    def clean(self):
        cleaned = super().clean()
        user = getattr(self, "custom_fields_user", None)
        data = {}
        for definition in self.custom_field_definitions:
            name = FORM_PREFIX + definition.key
            if self.fields[name].disabled or name in self.errors:
                continue
            data[definition.key] = cleaned.get(name)
        try:
            values = clean_values(self._meta.model, data, user=user, instance=self.instance)
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                name = FORM_PREFIX + key
                if name in self.fields and name not in self.errors:
                    self.add_error(name, messages)
        else:
            self.instance.custom_fields = values
        return cleaned


# --- definitions: checks for the settings page --------------------------------------------------


def definition_check_type_change(definition) -> None:
    """A field that holds values keeps its type: its values would no longer mean what they say."""
    if definition.pk is None:
        return
    before = _model().objects.filter(pk=definition.pk).values_list("type", "model", "key").first()
    if before is None or (before[0], before[1], before[2]) == (definition.type, definition.model, definition.key):
        return
    count = _model()(pk=definition.pk, model=before[1], key=before[2]).records().count()
    if count:
        raise ValidationError(_(
            "%(count)s records hold a value for this field, so its records, key and type cannot change. "
            "Make a new field instead, or delete this one with its values."
        ) % {"count": count})


def definition_delete(definition) -> int:
    """Deletes the field and its values on every record; returns how many records lost a value."""
    from django.db import transaction

    model = apps.get_model(definition.model)
    touched = 0
    with transaction.atomic():
        rows = list(definition.records().only("pk", "custom_fields"))
        for row in rows:
            row.custom_fields = {k: v for k, v in row.custom_fields.items() if k != definition.key}
        for start in range(0, len(rows), 500):
            model._base_manager.bulk_update(rows[start:start + 500], ["custom_fields"])
        touched = len(rows)
        definition.delete()
    return touched


def definitions_reorder(model, keys: list[str]) -> None:
    """Puts the model's fields in the order of `keys` (ids as text), 10, 20, 30 ..."""
    from django.db import transaction

    with transaction.atomic():
        by_pk = {str(d.pk): d for d in _model().objects.filter(model=model_key(model))}
        ordered = [by_pk[k] for k in keys if k in by_pk]
        for index, definition in enumerate(ordered, start=1):
            definition.order = index * 10
        _model().objects.bulk_update(ordered, ["order"])




# --- the index ----------------------------------------------------------------------------------


def postgres_gin_index_operations(table: str) -> list:
    """Migration operations that give `table.custom_fields` a GIN index on Postgres (SQLite has
    no such index; its look-ups work without one)."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_custom_fields_gin ON {table} USING gin (custom_fields)"
            )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_custom_fields_gin")

    return [migrations.RunPython(forwards, backwards, elidable=False)]


def erase_personal(queryset, model=None) -> int:
    """Removes the values of personal-data fields from the rows of `queryset` (records or their
    history rows; `model` names the definitions' model for history rows); returns the rows changed."""
    model = model or queryset.model
    changed = []
    for row in queryset.only("pk", "custom_fields"):
        kept = erased(model, row.custom_fields)
        if kept != (row.custom_fields or {}):
            row.custom_fields = kept
            changed.append(row)
    queryset.model._base_manager.bulk_update(changed, ["custom_fields"], batch_size=500)
    return len(changed)


# --- record pages -------------------------------------------------------------------------------


def _panel(request, obj):
    groups = record_groups(obj, request.user)
    return {"custom_field_groups": groups} if groups else None


def register_panels() -> None:
    """The card "More fields" on the page of each record kind that has custom fields."""
    from crm import recordpage

    for key in MODEL_KEYS:
        recordpage.register_panel(recordpage.Panel(
            f"crm.customfields.{key}", key, "includes/custom_fields_panel.html", context=_panel, order=5,
        ))


def _changed(model, old, new, user) -> list:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    return [d for d in definitions(model, user) if can_view(d, user) and old.get(d.key) != new.get(d.key)]


def history_names(model, changes, *, user=None) -> dict:
    """The names of the records that the custom-field changes `changes` ((old, new) pairs) refer
    to, for all of them at once (one query per kind of record, whatever the number of rows)."""
    pairs = []
    for old, new in changes:
        old, new = old or {}, new or {}
        for definition in _changed(model, old, new, user):
            pairs += [(definition, v) for v in (old.get(definition.key), new.get(definition.key)) if not is_empty(v)]
    return reference_names(pairs, user)


def history_changes(model, old, new, *, user=None, names: dict | None = None) -> list[tuple[str, str, str, str]]:
    """A change of a record's custom fields as (key, label, old text, new text), one per field
    that changed and that `user` may see (all for None); `names` from `history_names`."""
    old, new = old or {}, new or {}
    shown = _changed(model, old, new, user)
    return [(FORM_PREFIX + d.key, d.label, display(d, old.get(d.key), names), display(d, new.get(d.key), names))
            for d in shown]
