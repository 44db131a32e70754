"""A serializer's representation, built from a plan made once per serializer instance.

DRF's `Serializer.to_representation` asks every field, for every record, to find its value
(`get_attribute` walks `source_attrs` inside a try/except and builds a `PKOnlyObject` for a
foreign key) and then to convert it. A page of 100 people of 26 fields, with their employments,
spent more time there (about 1.4 ms a person) than in its queries. `FastRepresentationMixin`
decides once, for each field, how to read it:

- a model column shown as it is (text, e-mail, a read-only property): `getattr`;
- a foreign key shown as its id: the column (`owner_id`), without loading the related row;
- a many-to-many field of ids: the ids of the (prefetched) related rows;
- any other field (dates, decimals, choices, nested serializers, dotted sources): DRF's own
  `get_attribute` and `to_representation`, exactly as DRF does it.

The result is the same dictionary DRF builds (crm/tests/test_api_representation.py compares
both for every serializer of the API).
"""

import datetime
import functools

from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

try:
    from phonenumber_field.serializerfields import PhoneNumberField
except ImportError:  # pragma: no cover — the project pins it
    PhoneNumberField = None

_SKIP = object()


@functools.lru_cache(maxsize=20000)
def _phone_text(number_class, raw_input, country_code, national_number, extension, leading_zero, zeros):
    """str() of a phone number (its validation and formatting by libphonenumber cost about
    0.5 ms), once per number: the same fields give the same text."""
    number = number_class(country_code=country_code, national_number=national_number, extension=extension,
                          italian_leading_zero=leading_zero, number_of_leading_zeros=zeros, raw_input=raw_input)
    return str(number)


def _phone_reader(field, name):
    slow = _drf_reader(field)

    def read(instance):
        value = getattr(instance, name, None)
        if value is None or value == "" or not hasattr(value, "national_number"):
            return slow(instance)
        return _phone_text(type(value), value.raw_input, value.country_code, value.national_number,
                           value.extension, value.italian_leading_zero, value.number_of_leading_zeros)

    return read


def _datetime_reader(field, name):
    """DateTimeField.to_representation in ISO 8601, with the time zone looked up once per plan
    (once per request: the plan belongs to the request's serializer)."""
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    slow = _drf_reader(field)

    def read(instance):
        value = getattr(instance, name, None)
        if not isinstance(value, datetime.datetime) or zone is None or not timezone.is_aware(value):
            return slow(instance)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read

# Fields whose to_representation of a non-None value is the value itself, or str() of it.
_AS_IS = (drf_fields.ReadOnlyField,)
_AS_TEXT = (drf_fields.CharField, drf_fields.EmailField, drf_fields.URLField, drf_fields.SlugField)


def _drf_reader(field):
    """DRF's own way for one field (Serializer.to_representation's loop body)."""

    def read(instance):
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return _SKIP
        check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        return None if check_for_none is None else field.to_representation(attribute)

    return read


def _model_field(model, name):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _reader(field, model):
    attrs = field.source_attrs
    if len(attrs) != 1 or field.default is not drf_fields.empty:
        return _drf_reader(field)
    name = attrs[0]
    model_field = _model_field(model, name)
    kind = type(field)
    concrete_column = model_field is not None and model_field.concrete and not model_field.is_relation
    if kind is PhoneNumberField and concrete_column:
        return _phone_reader(field, name)
    if kind is drf_fields.DateTimeField and concrete_column \
            and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() == "iso-8601":
        return _datetime_reader(field, name)
    if kind in _AS_IS or kind in _AS_TEXT:
        if model_field is not None and (model_field.is_relation or not model_field.concrete):
            return _drf_reader(field)
        slow = _drf_reader(field)
        as_text = kind in _AS_TEXT

        def read(instance, _name=name, _slow=slow, _as_text=as_text):
            try:
                value = getattr(instance, _name)
            except AttributeError:
                return _slow(instance)  # DRF decides: a default, None or no key
            if value is None:
                return None
            if callable(value):
                return _slow(instance)  # a method as the source: DRF calls it
            return str(value) if _as_text and type(value) is not str else value

        return read
    if kind is relations.PrimaryKeyRelatedField and field.pk_field is None:
        if model_field is not None and model_field.many_to_one and model_field.concrete \
                and model_field.target_field.primary_key:
            attname = model_field.attname
            return lambda instance, _attname=attname: getattr(instance, _attname)
        return _drf_reader(field)
    if kind is relations.ManyRelatedField and type(field.child_relation) is relations.PrimaryKeyRelatedField \
            and field.child_relation.pk_field is None and model_field is not None and model_field.many_to_many:
        def read(instance, _name=name):
            if instance.pk is None:
                return []
            return [related.pk for related in getattr(instance, _name).all()]
        return read
    return _drf_reader(field)


class FastRepresentationMixin:
    """For a (Model)Serializer: `to_representation` from a plan made once (see the module)."""

    def _representation_plan(self):
        plan = self.__dict__.get("_fast_plan")
        if plan is None:
            model = getattr(getattr(self, "Meta", None), "model", None)
            plan = self.__dict__["_fast_plan"] = [(field.field_name, _reader(field, model)) for field in self._readable_fields]
        return plan

    def to_representation(self, instance):
        result = {}
        for name, read in self._representation_plan():
            value = read(instance)
            if value is not _SKIP:
                result[name] = value
        return result


class ModelSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """The API's read-only and nested serializers: DRF's ModelSerializer with the fast representation."""
