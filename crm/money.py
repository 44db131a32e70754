"""Money on every page: the company currency, the currencies records may carry, and ONE way to
write an amount, in the reader's language ("25.820,00 €" in German, "€25,820.00" in English).

The formatting rules (symbol, its place, separators) are CLDR's, read through Babel. Babel's own
`format_currency` takes about 40 µs a call, too slow for a board of a thousand cards; the locale's
pattern is parsed once per (language, currency) and applied with Python's number formatting, which
gives the same text (a test compares the two).

Converting amounts from one currency into another is sales' business (`sales.money`, with the
exchange rates admins maintain); this module only writes amounts down.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_symbol
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

# The currencies a deal, product or price list may be in.
CURRENCIES = [("EUR", "EUR"), ("CHF", "CHF"), ("USD", "USD"), ("GBP", "GBP")]
CURRENCY_CODES = [code for code, _label in CURRENCIES]
NO_VALUE = "–"
APPROXIMATELY = "≈"
NBSP = "\xa0"


def company_currency() -> str:
    """The currency the company reports in (setting CRM_CURRENCY): totals over several currencies
    are converted into it; quotas, budgets, costs and compensations are in it."""
    code = getattr(settings, "CRM_CURRENCY", "EUR")
    if code not in CURRENCY_CODES:
        raise ImproperlyConfigured(f"CRM_CURRENCY must be one of {', '.join(CURRENCY_CODES)}, not {code!r}.")
    return code


def _language() -> str:
    return (translation.get_language() or settings.LANGUAGE_CODE or "en").replace("-", "_")


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (ValueError, LookupError, UnknownLocaleError):
        return Locale.parse("en")


@lru_cache(maxsize=64)
def _rules(language: str, currency: str) -> tuple | None:
    """(positive prefix, positive suffix, negative prefix, negative suffix, group, decimal) of the
    language's standard currency pattern with the currency's symbol filled in."""
    locale = _locale(language)
    pattern = locale.currency_formats["standard"]
    if tuple(pattern.grouping) != (3, 3):  # not the case for German or English: then Babel itself
        return None
    symbol = get_currency_symbol(currency, locale)
    symbols = locale.number_symbols.get("latn", locale.number_symbols)
    minus = symbols.get("minusSign", "-")

    def fill(affix: str, before_number: bool) -> str:
        if "¤" not in affix:
            return affix
        text = affix.replace("¤", symbol)
        # CLDR currency spacing: a symbol ending (or starting) in a letter keeps a no-break space
        # from the digits ("CHF 25,820.00", but "€25,820.00").
        if before_number and text.endswith(symbol) and symbol[-1].isalpha():
            text += NBSP
        if not before_number and text.startswith(symbol) and symbol[0].isalpha():
            text = NBSP + text
        return text

    positive_prefix, positive_suffix = pattern.prefix[0], pattern.suffix[0]
    negative_prefix, negative_suffix = pattern.prefix[1], pattern.suffix[1]
    return (
        fill(positive_prefix, True), fill(positive_suffix, False),
        fill(negative_prefix, True).replace("-", minus), fill(negative_suffix, False),
        symbols.get("group", ","), symbols.get("decimal", "."),
    )


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def format_money(value, currency: str | None = None, *, whole: bool = False, approx: bool = False,
                 language: str | None = None) -> str:
    """`value` in `currency` (default: the company currency) as the reader's language writes it:
    with cents, or rounded to whole units (`whole`); `approx` marks a converted figure ("≈ 25.820 €").
    None (or text that is no number) gives "–"."""
    number = _decimal(value)
    if number is None:
        return NO_VALUE
    currency = (currency or company_currency()).upper()
    number = number.quantize(Decimal("1") if whole else Decimal("0.01"), ROUND_HALF_UP)
    language = language or _language()
    rules = _rules(language, currency)
    if rules is None:  # a language with another digit grouping: Babel's own (slower) formatting
        locale = _locale(language)
        pattern = locale.currency_formats["standard"].pattern
        text = format_currency(number, currency, format=pattern.replace(".00", "") if whole else pattern,
                               locale=locale, currency_digits=False)
    else:
        positive_prefix, positive_suffix, negative_prefix, negative_suffix, group, decimal = rules
        digits = f"{abs(number):,.0f}" if whole else f"{abs(number):,.2f}"
        digits = digits.replace(",", "\0").replace(".", decimal).replace("\0", group)
        if number < 0:
            text = f"{negative_prefix}{digits}{negative_suffix}"
        else:
            text = f"{positive_prefix}{digits}{positive_suffix}"
    return f"{APPROXIMATELY}{NBSP}{text}" if approx else text
