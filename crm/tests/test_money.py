"""The one money formatter (crm.money.format_money and the `money` / `money_whole` filters)."""

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from crm.money import NBSP, company_currency, format_money


@pytest.mark.parametrize(
    ("language", "value", "currency", "whole", "expected"),
    [
        ("de", "25820", "EUR", False, f"25.820,00{NBSP}€"),
        ("de", "25820", "EUR", True, f"25.820{NBSP}€"),
        ("en", "25820", "EUR", False, "€25,820.00"),
        ("en", "25820", "EUR", True, "€25,820"),
        ("de", "12220", "CHF", False, f"12.220,00{NBSP}CHF"),
        ("en", "12220", "CHF", False, f"CHF{NBSP}12,220.00"),
        ("en", "1234.5", "USD", False, "$1,234.50"),
        ("de", "1234.5", "GBP", False, f"1.234,50{NBSP}£"),
        ("de", "-1234.565", "EUR", False, f"-1.234,57{NBSP}€"),
        ("en", "-1234.5", "EUR", True, "-€1,235"),
        ("de", "0", "EUR", True, f"0{NBSP}€"),
        ("en", "150660.004", "EUR", False, "€150,660.00"),
    ],
)
def test_it_writes_money_as_the_language_does(language, value, currency, whole, expected):
    assert format_money(Decimal(value), currency, whole=whole, language=language) == expected


def test_it_follows_the_active_language_and_defaults_to_the_company_currency(settings):
    settings.CRM_CURRENCY = "CHF"
    with translation.override("de"):
        assert format_money(Decimal("25820")) == f"25.820,00{NBSP}CHF"
    with translation.override("en"):
        assert format_money(Decimal("25820"), "EUR") == "€25,820.00"


def test_nothing_and_non_numbers_are_a_dash():
    assert format_money(None) == "–"
    assert format_money("") == "–"
    assert format_money("abc") == "–"
    assert format_money(float("nan")) == "–"


def test_a_converted_figure_is_marked():
    assert format_money(Decimal("3700"), "EUR", whole=True, approx=True, language="de") == f"≈{NBSP}3.700{NBSP}€"


def test_an_unknown_language_falls_back_to_english():
    assert format_money(Decimal("12"), "GBP", language="xx") == "£12.00"


def test_the_company_currency_must_be_one_records_may_carry(settings):
    settings.CRM_CURRENCY = "EUR"
    assert company_currency() == "EUR"
    settings.CRM_CURRENCY = "XYZ"
    with pytest.raises(ImproperlyConfigured):
        company_currency()


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["de", "en"]),
    st.sampled_from(["EUR", "USD", "GBP"]),
    st.booleans(),
)
def test_the_fast_path_writes_what_babel_writes(value, language, currency, whole):
    """Babel's own format_currency (CLDR) is the reference; currencies written with a symbol. (Babel
    writes an amount rounded to zero from below as "-0 €", ours "0 €".)"""
    from babel import Locale

    pattern = Locale.parse(language).currency_formats["standard"].pattern
    rounded = value.quantize(Decimal("1") if whole else Decimal("0.01"))
    expected = format_currency(
        rounded if rounded else Decimal("0"), currency, locale=language, currency_digits=False,
        format=pattern.replace(".00", "") if whole else pattern,
    )
    assert format_money(value, currency, whole=whole, language=language) == expected


def test_the_template_filters_use_the_readers_language():
    template = Template("{% load crm_tags %}{{ amount|money:currency }} | {{ amount|money_whole }} | {{ missing|money }}")
    context = Context({"amount": Decimal("25820"), "currency": "CHF", "missing": None})
    with translation.override("de"):
        assert template.render(context) == f"25.820,00{NBSP}CHF | 25.820{NBSP}€ | –"
    with translation.override("en"):
        assert template.render(context) == f"CHF{NBSP}25,820.00 | €25,820 | –"
