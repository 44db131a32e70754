"""Change history of a record (django-simple-history), as rows a page can show, in the reader's
language: a stage change reads "Stage: Qualifizierung → Angebot", not "1 → 2".

Models with a history page declare it once with `register(Model, roles=...)` (in their app's
registrations); that gives them the generic `RecordHistoryView` (crm.views) and the "Latest
changes" panel on the record's page, both with the record page's access rules.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from crm import customfields
from crm.money import format_money
from crm.roles import ALL_ROLES


@dataclass(frozen=True)
class Change:
    field: str  # the field's name, as in the model
    label: str  # its verbose name, translated
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
PAGE_SIZE = 50
RECENT = 5


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    has_more: bool
    next_offset: int  # where the next (older) page starts, counted in stored history records


def _person_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _related_names(model, ids: set) -> dict:
    """The names of the related records one field points at, in one query per related model."""
    if model is get_user_model():
        return {user.pk: _person_name(user) for user in model._base_manager.filter(pk__in=ids)}
    return {pk: str(obj) for pk, obj in model._base_manager.in_bulk(ids).items()}


def _display(field, value, record, names: dict) -> str:
    if value is None or value == "":
        return ""
    if field.is_relation:
        return names.get(field.related_model, {}).get(value) or f"#{value}"  # a record since deleted
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("Yes") if value else _("No")
    if field.name in getattr(record.instance_type, "money_fields", ()):
        # An amount in the record's currency (a model's `money_fields`) reads as money ("150.660,00 €").
        return format_money(value, getattr(record, "currency", "") or None)
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value) if timezone.is_aware(value) else value, "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, int | float) or hasattr(value, "as_tuple"):  # numbers, Decimal included
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return str(value)


def history_page(obj, *, limit: int = PAGE_SIZE, offset: int = 0, user=None) -> HistoryPage:
    """Newest first, each row with its field-level changes; saves that changed nothing are left out.
    A constant number of queries whatever the length: the records with their users, then one per
    kind of related record that a change names (stages, owners, organizations...).
    A change of custom fields reads as one change per field, of those `user` may see."""
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[offset : offset + limit + 1])
    model = obj._meta.model
    deltas = {}
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        if previous is not None and record.history_type == "~":
            deltas[index] = (previous, record.diff_against(previous).changes)
    wanted: dict = {}
    for _previous, changes in deltas.values():
        for change in changes:
            field = model._meta.get_field(change.field)
            if field.is_relation and (field.many_to_one or field.one_to_one):
                wanted.setdefault(field.related_model, set()).update(v for v in (change.old, change.new) if v is not None)
    names = {related: _related_names(related, ids) for related, ids in wanted.items()}
    custom_names = customfields.history_names(model, [
        (change.old, change.new) for _previous, changes in deltas.values() for change in changes
        if change.field == "custom_fields"
    ], user=user)
    rows = []
    for index, record in enumerate(records[:limit]):
        previous, delta = deltas.get(index, (None, []))
        changes = []
        for change in delta:
            if change.field == "custom_fields":
                changes += [Change(*c) for c in customfields.history_changes(
                    model, change.old, change.new, user=user, names=custom_names)]
                continue
            field = model._meta.get_field(change.field)
            changes.append(Change(
                change.field, str(field.verbose_name),
                _display(field, change.old, previous, names), _display(field, change.new, record, names),
            ))
        if record.history_type == "~" and not changes:
            continue  # saved without changes: nothing to tell the reader
        rows.append(HistoryRow(
            when=record.history_date, user=_person_name(record.history_user), action=record.history_type,
            changes=changes, reason=record.history_change_reason or "",
        ))
    return HistoryPage(rows, len(records) > limit, offset + min(len(records), limit))


def history_rows(obj, *, limit: int = PAGE_SIZE, offset: int = 0, user=None) -> tuple[list[HistoryRow], bool]:
    page = history_page(obj, limit=limit, offset=offset, user=user)
    return page.rows, page.has_more


# Which models have a history page, and who may read it (on top of `visible_to`, as on the record's page).
_registry: dict[str, tuple[str, ...]] = {}


def register(model, *, roles: tuple[str, ...] = ALL_ROLES) -> None:
    from crm import recordpage

    label = model._meta.label_lower
    _registry[label] = tuple(roles)
    recordpage.register_panel(recordpage.Panel(f"crm.history.{label}", label, "includes/history_panel.html", context=_panel, order=900))


def roles_for(model) -> tuple[str, ...]:
    return _registry[model._meta.label_lower]


def history_url(obj) -> str:
    """Every history page is named `<app>:<model>_history` (URL names are `<model>_<action>`)."""
    return reverse(f"{obj._meta.app_label}:{obj._meta.model_name}_history", args=[obj.pk])


def _panel(request, obj):
    from crm.access import has_role

    if not has_role(request.user, *roles_for(obj)):
        return None
    # A few more than shown, as saves without changes are left out.
    rows = history_page(obj, limit=RECENT * 4, user=request.user).rows[:RECENT]
    return {"history_rows": rows, "history_url": history_url(obj)}
