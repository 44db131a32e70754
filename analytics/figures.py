"""A dashboard figure: a value, what it is out of, where its records are, and how it is computed."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from analytics.snapshots import serializable
from crm.money import company_currency


@serializable
@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int
    total: int | None = None
    url: str = ""
    explanation: str = ""

    @property
    def share(self) -> float | None:
        """Percent of the total, one decimal; None without a total."""
        if not self.total:
            return None if self.total is None else 0.0
        return round(100 * self.value / self.total, 1)


def money_rows(notes: dict) -> Iterator[tuple]:
    """A CSV export's first rows: the currency its amounts are converted into, and how many deals
    they leave out for lack of an exchange rate (`notes["unconverted"]`)."""
    section = _("Currency")
    yield section, "", _("Amounts converted into"), company_currency()
    yield section, "", _("Deals without exchange rate, not included"), notes.get("unconverted", 0)
