"""Keyset ("cursor") pagination: no COUNT, no OFFSET, stable while rows are added.

A page is the rows after (or before) the last row of the previous page in the list's order,
which always ends with the primary key, so every row has one place. The cursor is that row's
sort values, opaque to the client. Page 10,000 costs what page 1 costs: an index range scan.

The view names its orders as the list pages do: `ordering_fields = {"name": ("last_name",
"first_name"), ...}`, `default_ordering = "name"`; the client asks with `?ordering=-name`.
Sort fields must be non-null columns of the model itself.
"""

import base64
import binascii
import datetime
import decimal
import json
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


def _encode(values: list, reverse: bool) -> str:
    raw = json.dumps({"v": values, "r": int(reverse)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values, reverse = data["v"], bool(data.get("r"))
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        return None
    return (values, reverse) if isinstance(values, list) else None


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


class KeysetPagination(BasePagination):
    cursor_query_param = "cursor"
    ordering_param = "ordering"
    limit_query_param = "limit"

    invalid_cursor = _("This cursor is invalid: use the “next” or “previous” link of a list as it is.")

    def ordering(self, request, view) -> list[tuple[str, bool]]:
        """[(field, descending)] ending with the primary key."""
        fields = getattr(view, "ordering_fields", {}) or {}
        requested = request.query_params.get(self.ordering_param, "") or getattr(view, "default_ordering", "")
        key = requested.lstrip("-")
        if requested and key not in fields:
            raise exceptions.ValidationError(
                {self.ordering_param: [_("Unknown order “%(value)s”; choose one of: %(choices)s.") % {
                    "value": requested[:50], "choices": ", ".join(sorted(fields))}]}
            )
        descending = requested.startswith("-")
        columns = [(name, descending) for name in fields.get(key, ())]
        return [*columns, ("pk", descending)]

    def page_size(self, request) -> int:
        raw = request.query_params.get(self.limit_query_param, "")
        maximum = settings.CRM_API_MAX_PAGE_SIZE
        if not raw:
            return settings.CRM_API_PAGE_SIZE
        if not raw.isdigit() or not 1 <= int(raw) <= maximum:
            raise exceptions.ValidationError(
                {self.limit_query_param: [_("Give a whole number from 1 to %(maximum)s.") % {"maximum": maximum}]}
            )
        return int(raw)

    def _values_from_cursor(self, model, order, values):
        if len(values) != len(order):
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor]})
        converted = []
        for (name, _descending), value in zip(order, values, strict=True):
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            try:
                converted.append(field.to_python(value))
            except (DjangoValidationError, TypeError, ValueError):
                raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor]}) from None
        return converted

    @staticmethod
    def _after(order, values, reverse: bool) -> Q:
        """Rows after `values` in `order` (before them when `reverse`)."""
        condition = Q(pk__in=[])
        for index, (name, descending) in enumerate(order):
            lookup = "lt" if descending != reverse else "gt"
            equal = {order[i][0]: values[i] for i in range(index)}
            condition |= Q(**equal, **{f"{name}__{lookup}": values[index]})
        return condition

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        order = self.ordering(request, view)
        size = self.page_size(request)
        reverse = False
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor is not None:
            decoded = _decode(cursor)
            if decoded is None:
                raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor]})
            raw_values, reverse = decoded
            values = self._values_from_cursor(queryset.model, order, raw_values)
            queryset = queryset.filter(self._after(order, values, reverse))
        flip = reverse
        queryset = queryset.order_by(*[("-" if descending != flip else "") + name for name, descending in order])
        rows = list(queryset[: size + 1])
        has_more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.order = order
        # Forward: a next page if there was one more row; a previous one if we came from a cursor.
        # Backward: the mirror image.
        self.has_next = has_more if not reverse else cursor is not None
        self.has_previous = (cursor is not None) if not reverse else has_more
        self.rows = rows
        return rows

    def _cursor_of(self, row, reverse: bool) -> str:
        values = [_plain(row.pk if name == "pk" else getattr(row, name)) for name, _descending in self.order]
        return _encode(values, reverse)

    def _link(self, row, reverse: bool) -> str:
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self._cursor_of(row, reverse))

    def get_next_link(self):
        return self._link(self.rows[-1], False) if self.has_next and self.rows else None

    def get_previous_link(self):
        if not self.has_previous:
            return None
        if not self.rows:
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._link(self.rows[0], True)

    def get_paginated_response(self, data):
        return Response(OrderedDict([("next", self.get_next_link()), ("previous", self.get_previous_link()), ("results", data)]))

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        fields = sorted(getattr(view, "ordering_fields", {}) or {})
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": str(_("The “next” or “previous” link's cursor.")), "schema": {"type": "string"}},
            {"name": self.limit_query_param, "required": False, "in": "query",
             "description": str(_("Rows per page.")),
             "schema": {"type": "integer", "minimum": 1, "maximum": settings.CRM_API_MAX_PAGE_SIZE}},
            {"name": self.ordering_param, "required": False, "in": "query",
             "description": str(_("Sort order; a leading “-” sorts descending.")),
             "schema": {"type": "string", "enum": [*fields, *[f"-{f}" for f in fields]]}},
        ]
