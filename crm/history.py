"""Change history of a record (django-simple-history), as rows a page can show."""

from dataclasses import dataclass
from datetime import datetime

from crm.money import format_money


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryRow:
    when: datetime
    user: str
    action: str
    changes: list[Change]
    reason: str = ""  # why the change was made, when the code that made it said so (history_change_reason)


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _display(record, field_name: str) -> str:
    field = record.instance_type._meta.get_field(field_name)
    value = getattr(record, field.attname, None)
    if field.choices and value not in (None, ""):
        return str(dict(field.flatchoices).get(value, value))
    if field_name in getattr(record.instance_type, "money_fields", ()) and value is not None:
        # An amount in the record's currency (a model's `money_fields`) reads as money ("150.660,00 €").
        return format_money(value, getattr(record, "currency", "") or None)
    return "" if value is None else str(value)


def history_rows(obj, *, limit: int = 50, offset: int = 0) -> tuple[list[HistoryRow], bool]:
    """Newest first, each with its field-level changes. Two queries whatever the length."""
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[offset : offset + limit + 1])
    rows = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            for change in delta.changes:
                field = record.instance_type._meta.get_field(change.field)
                changes.append(Change(str(field.verbose_name), _display(previous, change.field), _display(record, change.field)))
        user = record.history_user
        rows.append(
            HistoryRow(
                when=record.history_date,
                user=(user.get_full_name() or user.username) if user else "",
                action=record.history_type,
                changes=changes,
                reason=record.history_change_reason or "",
            )
        )
    return rows, len(records) > limit
