"""Deal amounts in the company currency: the conversion every total over deals uses.

The rule (also in the help pages): a deal is converted at the exchange rate of its currency that
is valid on the deal's close date: the day it was won or lost, for an open deal its expected close
date, and today when it has none. The valid rate is the one with the latest `valid_from` on or
before that day. A deal in the company currency needs no rate.

The conversion is an SQL expression (a correlated subquery over `ExchangeRate`, evaluated only for
deals in another currency), so board columns, the forecast and the dashboards stay one aggregate
query each. A deal whose currency has no rate valid on its day converts to NULL: it is left out of
the sums, never counted 1:1, and every figure that leaves deals out says how many
(`unconverted()`, shown by templates/includes/unconverted_note.html).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from crm.money import company_currency
from sales.models import ExchangeRate

AMOUNT = DecimalField(max_digits=24, decimal_places=6)


def rate_day(outer: bool = False, *, today=None):
    """The day whose rate converts a deal (see the module's rule), as an SQL expression over the
    deal's columns (`outer`: of the query around a subquery)."""
    def column(name, field):
        # An outer column carries no type until resolved; TruncDate needs one up front.
        return ExpressionWrapper(OuterRef(name), output_field=field) if outer else F(name)

    return Coalesce(
        TruncDate(column("closed_at", DateTimeField()), output_field=DateField()),
        column("expected_close_date", DateField()), Value(today or timezone.localdate()), output_field=DateField(),
    )


def _valid_rates(today=None):
    return ExchangeRate.objects.filter(currency=OuterRef("currency"), valid_from__lte=rate_day(True, today=today))


def rate(today=None):
    """The exchange rate that converts a deal (NULL when its currency has none for its day)."""
    return Subquery(_valid_rates(today).order_by("-valid_from").values("rate")[:1], output_field=AMOUNT)


def converted(amount="amount", *, today=None):
    """`amount` (a field name or an expression in the deal's currency) in the company currency;
    NULL when no rate applies. Use inside Sum/Avg: `Sum(converted())`."""
    value = F(amount) if isinstance(amount, str) else amount
    return Case(
        When(currency=company_currency(), then=ExpressionWrapper(value, output_field=AMOUNT)),
        default=ExpressionWrapper(value * rate(today), output_field=AMOUNT),
        output_field=AMOUNT,
    )


def weighted(today=None):
    """Amount × probability in the company currency."""
    return converted(ExpressionWrapper(F("amount") * F("probability") / 100, output_field=AMOUNT), today=today)


def rate_missing(today=None) -> Q:
    """The deals that cannot be converted: another currency than the company's, and no rate
    valid on the deal's day."""
    return ~Q(currency=company_currency()) & ~Q(Exists(_valid_rates(today)))


def unconverted(*, filter: Q | None = None, today=None) -> Count:
    """Count of the deals (matching `filter`) that `converted()` leaves out for lack of a rate."""
    condition = rate_missing(today)
    return Count("pk", filter=condition if filter is None else filter & condition)


def to_company(amount: Decimal, currency: str, *, day=None) -> Decimal | None:
    """One amount in the company currency at the rate valid on `day` (default today); None without a rate."""
    if currency == company_currency():
        return amount
    found = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=day or timezone.localdate())
        .order_by("-valid_from").values_list("rate", flat=True).first()
    )
    return None if found is None else (amount * found).quantize(Decimal("0.01"))
