"""Appointment figures: booked (in the period, and scheduled in it), held, no-show, cancelled,
no-show rate, lead time from booking to start (median and average), by appointment type and by
host, and the appointments per week.

Counted are the appointments the user hosts; team managers (sales managers, support leads) also
count those of their teams' members, admins everybody's (`Appointment.objects.visible_to(user)`
narrowed to the hosts the user manages, as appointments' own `editable_by` does). A fixed number of
queries whatever the number of appointments: scheduled in the period by type and host (1), booked
in the period by type and host (1), median lead time overall, per type and per host (3, one window
query each), scheduled and booked per week (2).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, Window
from django.db.models.functions import RowNumber, TruncWeek
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from analytics.figures import Figure
from analytics.scope import Scope, scope_from
from analytics.snapshots import serializable
from appointments.models import Appointment
from crm.models import managed_user_ids
from crm.roles import Role, has_role

DAY = timedelta(days=1)
TENTH = Decimal("0.1")
LEAD_TIME = ExpressionWrapper(F("start") - F("created_at"), output_field=DurationField())
Status = Appointment.Status

MEASURES = [
    ("booked", _("Booked in the period")),
    ("scheduled", _("Scheduled in the period")),
    ("held", _("Held")),
    ("no_show", _("No-show")),
    ("cancelled", _("Cancelled")),
    ("open", _("Still booked")),
    ("no_show_rate", _("No-show rate in %")),
    ("lead_median", _("Median lead time in days")),
    ("lead_average", _("Average lead time in days")),
]
COUNTS = ("booked", "scheduled", "held", "no_show", "cancelled", "open", "past_held", "past_no_show", "lead_count")


def days(value: timedelta | None) -> Decimal | None:
    """A duration in days with one decimal; None when nothing was measured."""
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 86400).quantize(TENTH)


def percent(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@serializable
@dataclass
class AppointmentsDashboard:
    cards: list[Figure]
    types: list[dict]
    hosts: list[dict]
    totals: dict
    weeks: list[dict]

    def csv_rows(self) -> Iterator[tuple]:
        """(figure, item, measure, value): every number of the page, one per row."""
        for card in self.cards:
            yield card.label, "", _("Value"), card.value
            if card.total is not None:
                yield card.label, "", _("Out of"), card.total
        for section, rows in ((_("By appointment type"), self.types), (_("By host"), self.hosts)):
            for row in [*rows, self.totals]:
                for key, measure in MEASURES:
                    yield section, row["label"], measure, row[key]
        section = _("Appointments per week")
        for row in self.weeks:
            yield section, row["label"], _("Scheduled"), row["scheduled"]
            yield section, row["label"], _("Booked"), row["booked"]


def appointments_scope(params):
    """The appointments dashboard's filter form (host as owner, team, period) and its scope."""
    return scope_from(params)


def compute(user, params) -> AppointmentsDashboard:
    """For analytics.snapshots: the dashboard of `user` for the filter `params`."""
    return appointments_dashboard(user=user, scope=appointments_scope(params)[1])


def counted_host_ids(user) -> set[int] | None:
    """Whose appointments the user's figures count: their own, also their teams' members' for team
    managers, everybody's (None) for admins."""
    return None if has_role(user, Role.ADMIN) else set(managed_user_ids(user))


def counted_appointments(*, user, scope: Scope):
    appointments = Appointment.objects.visible_to(user)
    host_ids = counted_host_ids(user)
    if host_ids is not None:
        appointments = appointments.filter(host_id__in=host_ids)
    return scope.owned(appointments, "host")


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(scope.start, time.min), tz),
        timezone.make_aware(datetime.combine(scope.end + DAY, time.min), tz),
    )


def _list_url(scope: Scope, hosts: set[int] | None, *, booked: bool = False, **query) -> str:
    """The appointment list for the scope's period (start, or booking date), its host or team (or the
    one host the user's figures count), and `query`."""
    dates = ("booked_from", "booked_to") if booked else ("start_from", "start_to")
    query = {dates[0]: scope.start.isoformat(), dates[1]: scope.end.isoformat(), **query}
    if "host" not in query:
        if scope.team_id:
            query["team"] = scope.team_id
        elif scope.owner_ids is not None and len(scope.owner_ids) == 1:
            query["host"] = next(iter(scope.owner_ids))
        elif hosts is not None and len(hosts) == 1:
            query["host"] = next(iter(hosts))
    return f"{reverse('appointments:appointment_list')}?{urlencode(query)}"


def _medians(appointments, partition: str | None) -> dict:
    """Median lead time per value of `partition` (None: of all): the middle row, or the mean of the
    two middle rows, of each partition ordered by lead time, picked in SQL by a window query."""
    over = {"partition_by": [F(partition)]} if partition else {}
    rows = (
        appointments.annotate(lead=LEAD_TIME)
        .annotate(
            position=Window(RowNumber(), order_by=[F("lead").asc(), F("pk").asc()], **over),
            size=Window(Count("pk"), **over),
        )
        .filter(position__gte=(F("size") + 1) / 2, position__lte=(F("size") + 2) / 2)
        .values_list(partition or "pk", "lead")
    )
    middles: dict = {}
    for key, lead in rows:
        middles.setdefault(key if partition else None, []).append(lead)
    return {key: sum(leads, timedelta()) / len(leads) for key, leads in middles.items()}


def _week_buckets(scope: Scope) -> list[date]:
    day = scope.start - timedelta(days=scope.start.weekday())
    starts = []
    while day <= scope.end:
        starts.append(day)
        day += timedelta(days=7)
    return starts


def _per_week(appointments, field: str) -> dict[date, int]:
    counts = {}
    for row in appointments.annotate(week=TruncWeek(field)).values("week").annotate(n=Count("pk")).order_by():
        moment = row["week"]
        counts[timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()] = row["n"]
    return counts


def _new_row(label: str, url_query: dict) -> dict:
    return {"label": label, "query": url_query, **{key: 0 for key in COUNTS}, "lead_sum": timedelta()}


def _finish(row: dict, scope: Scope, hosts: set[int] | None, median: timedelta | None) -> dict:
    query = row.pop("query")
    lead_sum = row.pop("lead_sum")
    row["no_show_rate"] = percent(row["past_no_show"], row["past_held"] + row["past_no_show"])
    row["lead_average"] = days(lead_sum / row["lead_count"]) if row["lead_count"] else None
    row["lead_median"] = days(median)
    row["url"] = _list_url(scope, hosts, **query)
    row["booked_url"] = _list_url(scope, hosts, booked=True, **query)
    for status in (Status.HELD, Status.NO_SHOW, Status.CANCELLED):
        row[f"{status}_url"] = _list_url(scope, hosts, status=status, **query)
    row["open_url"] = _list_url(scope, hosts, status=Status.BOOKED, **query)
    return row


def _user_label(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def appointments_dashboard(*, user, scope: Scope) -> AppointmentsDashboard:
    appointments = counted_appointments(user=user, scope=scope)
    hosts = counted_host_ids(user)
    start_at, end_at = _bounds(scope)
    now = timezone.now()
    scheduled = appointments.filter(start__gte=start_at, start__lt=end_at)
    booked = appointments.filter(created_at__gte=start_at, created_at__lt=end_at)
    kept = scheduled.exclude(status=Status.CANCELLED)  # lead times of the appointments that stand
    group = (
        "appointment_type_id", "appointment_type__name", "appointment_type__host_user__first_name",
        "appointment_type__host_user__last_name", "appointment_type__host_team__name",
        "host_id", "host__first_name", "host__last_name", "host__username",
    )
    past = Q(start__lt=now)
    not_cancelled = ~Q(status=Status.CANCELLED)
    scheduled_rows = scheduled.values(*group).annotate(
        scheduled=Count("pk"),
        held=Count("pk", filter=Q(status=Status.HELD)),
        no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        open=Count("pk", filter=Q(status=Status.BOOKED)),
        past_held=Count("pk", filter=past & Q(status=Status.HELD)),
        past_no_show=Count("pk", filter=past & Q(status=Status.NO_SHOW)),
        lead_count=Count("pk", filter=not_cancelled),
        lead_average=Avg(LEAD_TIME, filter=not_cancelled),
    ).order_by()
    booked_rows = booked.values(*group).annotate(booked=Count("pk")).order_by()

    # Roll the (type, host) groups up to types, hosts and the total: as many groups as types × hosts.
    types: dict[int, dict] = {}
    hosts: dict[int, dict] = {}
    total = _new_row(_("All appointments"), {})

    def rows_of(row):
        type_row = types.setdefault(row["appointment_type_id"], _new_row(
            row["appointment_type__name"], {"appointment_type": row["appointment_type_id"]}))
        type_row["owner_label"] = row["appointment_type__host_team__name"] or _user_label(
            row["appointment_type__host_user__first_name"] or "", row["appointment_type__host_user__last_name"] or "", "")
        host_row = hosts.setdefault(row["host_id"], _new_row(
            _user_label(row["host__first_name"], row["host__last_name"], row["host__username"]), {"host": row["host_id"]}))
        return type_row, host_row, total

    for row in scheduled_rows:
        for target in rows_of(row):
            for key in COUNTS[1:]:
                target[key] += row[key]
            if row["lead_count"]:
                target["lead_sum"] += row["lead_average"] * row["lead_count"]
    for row in booked_rows:
        for target in rows_of(row):
            target["booked"] += row["booked"]

    overall = _medians(kept, None)
    type_medians = _medians(kept, "appointment_type_id")
    host_medians = _medians(kept, "host_id")
    # Types of the same name (one per host, say) are told apart by their host or host team.
    names = [row["label"] for row in types.values()]
    for row in types.values():
        owner_label = row.pop("owner_label")
        if names.count(row["label"]) > 1 and owner_label:
            row["label"] = f"{row['label']} ({owner_label})"
    type_list = sorted((_finish(row, scope, hosts, type_medians.get(pk)) for pk, row in types.items()),
                       key=lambda r: (-r["scheduled"], -r["booked"], r["label"]))
    host_list = sorted((_finish(row, scope, hosts, host_medians.get(pk)) for pk, row in hosts.items()),
                       key=lambda r: (-r["scheduled"], -r["booked"], r["label"]))
    totals = _finish(total, scope, hosts, overall.get(None))

    scheduled_weeks = _per_week(scheduled, "start")
    booked_weeks = _per_week(booked, "created_at")
    weeks = [
        {"label": formats.date_format(day, "SHORT_DATE_FORMAT"), "start": day,
         "scheduled": scheduled_weeks.get(day, 0), "booked": booked_weeks.get(day, 0)}
        for day in _week_buckets(scope)
    ]

    cards = [
        Figure("booked", _("Booked in the period"), totals["booked"], None, totals["booked_url"],
               _("Appointments made in the period, whenever they take place.")),
        Figure("scheduled", _("Scheduled in the period"), totals["scheduled"], None, totals["url"],
               _("Appointments that start in the period, whenever they were made.")),
        Figure("held", _("Held"), totals["held"], totals["scheduled"], totals["held_url"],
               _("Of the appointments scheduled in the period.")),
        Figure("no_show", _("No-show"), totals["no_show"], totals["scheduled"], totals["no_show_url"],
               _("Of the appointments scheduled in the period.")),
        Figure("cancelled", _("Cancelled"), totals["cancelled"], totals["scheduled"], totals["cancelled_url"],
               _("Of the appointments scheduled in the period.")),
        Figure("no_show_rate", _("No-show rate"), totals["past_no_show"], totals["past_held"] + totals["past_no_show"], "",
               _("No-shows out of held appointments and no-shows, of the period up to now.")),
        Figure("lead_median", _("Median lead time in days"), totals["lead_median"], None, "",
               _("Half the appointments of the period were booked at most this many days ahead.")),
        Figure("lead_average", _("Average lead time in days"), totals["lead_average"], None, "",
               _("Average days from booking to start, of the appointments of the period.")),
    ]
    return AppointmentsDashboard(cards, type_list, host_list, totals, weeks)
