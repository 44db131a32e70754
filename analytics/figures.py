"""A dashboard figure: a value, what it is out of, where its records are, and how it is computed."""

from dataclasses import dataclass

from analytics.snapshots import serializable


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
