"""Business-hours durations of tickets computed in SQL, with medians and percentiles per group.

A duration in business hours is not a difference of two columns: nights, weekends, public holidays
and closed days do not count. It is, however, a difference of one function: B(t), the business
seconds of a calendar from an origin up to the moment t. B is piecewise linear, and between two
working windows it is flat, so

    business seconds from start to end = B(end) - B(start).

The service app's calendar (`service.sla.Calendar`: working days, holidays of the state, closed
days, opening hours in the calendar's time zone) decides the working windows; this module writes
them, for the days the tickets need, as a small table in the query (one row per calendar and UTC
day: the business seconds before that day and that day's windows). Each ticket then looks up the
row of its start and its end (two equality joins) and the database computes every duration, ranks
them per group (window functions) and returns only the ranks a median and a 90th percentile need.
So the cost is one query whatever the number of tickets, and the durations are exactly those of
`Calendar.business_hours_between` (the tests compare both).

Percentiles interpolate linearly between the two nearest ranks (like Postgres'
`percentile_cont` and the spreadsheet function PERCENTILE.INC): with n values sorted ascending,
the p-th percentile lies at position 1 + p × (n − 1).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from math import floor

from django.db import connection
from django.db.models import Case, F, FloatField, Func, IntegerField, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from analytics.snapshots import serializable
from service.models import BusinessCalendar, ClosedDay, SLAPolicy
from service.sla import MAX_DAYS, Calendar

DAY_SECONDS = 86400
PIECES = 3  # working windows that may touch one UTC day (two in practice; three around a DST switch)
DEFAULT_CALENDAR_ID = 0  # no calendar configured at all: the model's defaults


class Epoch(Func):
    """Seconds since 1970-01-01 UTC of a datetime column."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"EXTRACT(EPOCH FROM {sql})", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", params


class EpochDay(Func):
    """The UTC day number (days since 1970-01-01) of a datetime column."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {sql}) / 86400) AS integer)", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(julianday({sql}) - 2440587.5 AS INTEGER)", params


def calendars() -> dict[int, Calendar]:
    """Every business calendar as service.sla.Calendar (2 queries, whatever the number of
    calendars: `Calendar.from_model` would ask for each calendar's closed days), and the model's
    defaults under id 0."""
    closed: dict[int, list] = {}
    for calendar_id, day in ClosedDay.objects.values_list("calendar_id", "date"):
        closed.setdefault(calendar_id, []).append(day)
    found = {
        c.pk: Calendar(time_zone=c.time_zone, subdivision=c.subdivision, opens_at=c.opens_at, closes_at=c.closes_at,
                       weekdays=c.weekdays, closed_days=closed.get(c.pk, ()))
        for c in BusinessCalendar.objects.all()
    }
    defaults = {f.name: f.default for f in BusinessCalendar._meta.fields if f.name in ("time_zone", "opens_at", "closes_at")}
    found[DEFAULT_CALENDAR_ID] = Calendar(
        time_zone=defaults["time_zone"], opens_at=defaults["opens_at"], closes_at=defaults["closes_at"]
    )
    return found


def ticket_calendar(default_id: int):
    """The calendar that sets a ticket's due times (service.services.sla_apply): its team's, else
    the one of the SLA policy for its priority and tier (or the standard tier), else the first."""
    policies = SLAPolicy.objects.filter(priority=OuterRef("priority"))
    return Coalesce(
        F("team__calendar_id"),
        Subquery(policies.filter(tier=OuterRef("tier")).values("calendar_id")[:1]),
        Subquery(policies.filter(tier="standard").values("calendar_id")[:1]),
        Value(default_id),
        output_field=IntegerField(),
    )


def _epoch(moment: datetime) -> int:
    return round(moment.timestamp())


def day_rows(calendar_id: int, calendar: Calendar, first: date, last: date) -> list[tuple]:
    """(calendar, UTC day, business seconds before the day, then PIECES × (window start, width))
    for every UTC day from `first` to `last`; the origin (0) is the start of `first`."""
    pieces: dict[int, list[tuple[int, int]]] = {}
    day = first - timedelta(days=1)  # a local day's window may begin on the UTC day before
    while day <= last + timedelta(days=1):
        if calendar.is_working_day(day):
            opens, closes = (_epoch(m) for m in calendar.window(day))
            while opens < closes:  # split at UTC midnight
                midnight = (opens // DAY_SECONDS + 1) * DAY_SECONDS
                end = min(closes, midnight)
                pieces.setdefault(opens // DAY_SECONDS, []).append((opens, end - opens))
                opens = end
        day += timedelta(days=1)
    rows, cumulative = [], 0
    first_day = _epoch(datetime.combine(first, time.min, tzinfo=UTC)) // DAY_SECONDS
    last_day = _epoch(datetime.combine(last, time.min, tzinfo=UTC)) // DAY_SECONDS
    for number in range(first_day, last_day + 1):
        windows = sorted(pieces.get(number, []))
        if len(windows) > PIECES:
            raise ValueError(f"calendar {calendar_id}: more than {PIECES} working windows on one day")
        padded = [value for window in windows for value in window] + [0, 0] * (PIECES - len(windows))
        rows.append((calendar_id, number, cumulative, *padded))
        cumulative += sum(width for _start, width in windows)
    return rows


def _business_seconds_at(moment: str, day: str) -> str:
    """SQL for B(moment) from the day table row `day`: seconds before the day plus the worked
    part of each window of the day up to the moment."""
    terms = [f"{day}.cum"]
    for i in range(1, PIECES + 1):
        x = f"({moment} - {day}.o{i})"
        terms.append(f"CASE WHEN {x} <= 0 THEN 0 WHEN {x} >= {day}.w{i} THEN {day}.w{i} ELSE {x} END")
    return "(" + " + ".join(terms) + ")"


@serializable
@dataclass
class Spread:
    """Count, median and 90th percentile of durations in business hours (None when empty)."""

    count: int
    median: Decimal | None
    p90: Decimal | None


def _interpolated(n: int, p: float, low, high) -> float | None:
    if not n or low is None:
        return None
    position = p * (n - 1)
    fraction = position - floor(position)
    if not fraction or high is None:
        return float(low)
    return float(low) + fraction * (float(high) - float(low))


def _hours(seconds: float | None) -> Decimal | None:
    return None if seconds is None else (Decimal(seconds) / 3600).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _ranks(column: str) -> str:
    """The count of a column's values and the values at the two ranks around the median and the
    90th percentile (1 + p × (n − 1), by integer division)."""
    n = f"n_{column}"
    return ", ".join([
        f"MAX({n})",
        *(f"MAX(CASE WHEN rank_{column} = {offset} + ({factor} * ({n} - 1)) / {divisor} THEN {column} END)"
          for factor, divisor in ((1, 2), (9, 10)) for offset in (1, 2)),
    ])


def ticket_durations(tickets, *, by, start_at: datetime, end_at: datetime) -> dict:
    """First response times of the tickets first answered in [start_at, end_at) and resolution
    times of those resolved in it (both from the ticket's creation, in business hours of the
    ticket's calendar), with the number resolved in it and the average satisfaction rating of
    those: for all tickets together (key None) and per value of `by` (an expression on the ticket,
    e.g. the assignee; tickets where it is empty count only in the total).

    Four queries whatever the number of tickets: calendars and their closed days (2), the earliest
    start (1) and the one that computes."""
    responded = Q(first_responded_at__gte=start_at, first_responded_at__lt=end_at)
    resolved = Q(resolved_at__gte=start_at, resolved_at__lt=end_at)
    measured = tickets.filter(responded | resolved)
    earliest = measured.aggregate(earliest=Min("created_at"))["earliest"]
    if earliest is None:
        return {}
    cals = calendars()
    default_id = min((pk for pk in cals if pk != DEFAULT_CALENDAR_ID), default=DEFAULT_CALENDAR_ID)
    # The table covers the tickets' starts to the end of the period; a ticket opened more than the
    # SLA arithmetic's horizon before the period counts from that horizon.
    first = max(earliest.astimezone(UTC).date(), start_at.astimezone(UTC).date() - timedelta(days=MAX_DAYS))
    last = end_at.astimezone(UTC).date() + timedelta(days=1)
    rows = [row for pk, calendar in cals.items() for row in day_rows(pk, calendar, first, last)]
    inner = measured.annotate(
        grp=by,
        cal=ticket_calendar(default_id),
        created_e=Epoch("created_at"), created_k=EpochDay("created_at"),
        fr_e=Epoch("first_responded_at"), fr_k=EpochDay("first_responded_at"),
        res_e=Epoch("resolved_at"), res_k=EpochDay("resolved_at"),
        responded_in=Case(When(responded, then=Value(1)), default=Value(0)),
        resolved_in=Case(When(resolved, then=Value(1)), default=Value(0)),
        rating=F("survey__rating"),
    ).values("grp", "cal", "created_e", "created_k", "fr_e", "fr_k", "res_e", "res_k", "responded_in", "resolved_in", "rating")
    inner_sql, params = inner.order_by().query.sql_with_params()
    columns = ", ".join(f"o{i}, w{i}" for i in range(1, PIECES + 1))
    # Only integers made here from the calendars go into the string, never text from a user; the
    # inner SQL is the ORM's own with its values as parameters.
    values = ", ".join("(" + ", ".join(str(int(v)) for v in row) + ")" for row in rows)
    start = f"COALESCE({_business_seconds_at('t.created_e', 's')}, 0)"
    answered = _business_seconds_at("t.fr_e", "f")
    done = _business_seconds_at("t.res_e", "r")
    window = "PARTITION BY lvl, grp"
    sql = f"""
        WITH days(cal, k, cum, {columns}) AS (VALUES {values}),
        t AS ({inner_sql}),
        d AS (
            SELECT t.grp AS grp, t.rating AS rating, t.resolved_in AS resolved_in,
                CASE WHEN t.responded_in = 1 THEN {answered} - {start} END AS fr,
                CASE WHEN t.resolved_in = 1 THEN {done} - {start} END AS res
            FROM t
            LEFT JOIN days s ON s.cal = t.cal AND s.k = t.created_k
            LEFT JOIN days f ON f.cal = t.cal AND f.k = t.fr_k
            LEFT JOIN days r ON r.cal = t.cal AND r.k = t.res_k
        ),
        g AS (
            SELECT 0 AS lvl, NULL AS grp, rating, resolved_in, fr, res FROM d
            UNION ALL
            SELECT 1 AS lvl, grp, rating, resolved_in, fr, res FROM d WHERE grp IS NOT NULL
        ),
        ranked AS (
            SELECT lvl, grp, rating, resolved_in, fr, res,
                ROW_NUMBER() OVER ({window} ORDER BY CASE WHEN fr IS NULL THEN 1 ELSE 0 END, fr) AS rank_fr,
                COUNT(fr) OVER ({window}) AS n_fr,
                ROW_NUMBER() OVER ({window} ORDER BY CASE WHEN res IS NULL THEN 1 ELSE 0 END, res) AS rank_res,
                COUNT(res) OVER ({window}) AS n_res
            FROM g
        )
        SELECT lvl, grp, {_ranks("fr")}, {_ranks("res")}, SUM(resolved_in),
            AVG(CASE WHEN resolved_in = 1 THEN rating END), COUNT(CASE WHEN resolved_in = 1 THEN rating END)
        FROM ranked GROUP BY lvl, grp
    """  # nosec B608  (integers and the ORM's own SQL, see above)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall()
    found = {}
    for lvl, grp, n_fr, fr50a, fr50b, fr90a, fr90b, n_res, res50a, res50b, res90a, res90b, handled, rating, ratings in result:
        found[grp if lvl else None] = {
            "first_response": Spread(n_fr or 0, _hours(_interpolated(n_fr, 0.5, fr50a, fr50b)),
                                     _hours(_interpolated(n_fr, 0.9, fr90a, fr90b))),
            "resolution": Spread(n_res or 0, _hours(_interpolated(n_res, 0.5, res50a, res50b)),
                                 _hours(_interpolated(n_res, 0.9, res90a, res90b))),
            "handled": int(handled or 0),
            "csat": None if rating is None else Decimal(rating).quantize(Decimal("0.01")),
            "ratings": ratings or 0,
        }
    return found
