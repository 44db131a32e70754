"""Filters shared by the list pages of all apps."""

import django_filters

from crm.forms import SafeFilterModelChoiceField
from crm.search import substring_condition
from crm.text import query_terms


class SearchKeyFilter(django_filters.CharFilter):
    """The `q` box of a list: the same normalised matching as the global search, unlimited."""

    def filter(self, qs, value):
        value = " ".join((value or "").split())[:200]
        if not value:
            return qs
        terms = query_terms(value)
        if not terms:
            return qs.none()
        return qs.filter(substring_condition(terms))


class SafeModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = SafeFilterModelChoiceField
