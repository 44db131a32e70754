"""Filters shared by the list pages of all apps."""

from functools import lru_cache

import django_filters
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from crm.forms import SafeFilterModelChoiceField
from crm.models import OutgoingEmail
from crm.search import substring_condition
from crm.text import query_terms
from crm.widgets import use_fast_selects


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


class CrmFilterSet(django_filters.FilterSet):
    """The base of every list page's FilterSet: its selects render fast (crm.widgets.FastSelect)."""

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            use_fast_selects(form)
        return self._form


@lru_cache(maxsize=8)
def _country_choices(language: str) -> tuple:
    return tuple(countries)


def country_choices() -> list:
    """Country choices sorted by their translated name; computed once per language, since
    django-countries translates and sorts all ~250 names on every use."""
    return list(_country_choices(get_language() or "de"))


class OutgoingEmailFilter(CrmFilterSet):
    """The outgoing email list: by state, and by recipient or subject."""

    q = django_filters.CharFilter(label=_("Recipient or subject"), method="search")
    state = django_filters.ChoiceFilter(label=_("State"), choices=lambda: OutgoingEmail.State.choices)

    class Meta:
        model = OutgoingEmail
        fields = ["q", "state"]

    def search(self, qs, name, value):
        value = " ".join((value or "").split())[:200]
        if not value:
            return qs
        if "@" in value:
            return qs.filter(to__iexact=value)
        return qs.filter(Q(to__istartswith=value) | Q(subject__icontains=value))
