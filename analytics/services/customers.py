"""Customer figures: revenue concentration (Pareto), RFM segments, churn risk, loyalty tiers,
customer lifetime value and win-back candidates.

Revenue is the amount of won deals (`closed_at` is when they were won), per organization. Every
figure counts only the deals the user may see (`Deal.objects.visible_to(user)`) of organizations
the user may see (`Organization.objects.visible_to(user)`), narrowed to the scope: owner and team
are the organization's owner, the territory is the deal's.

One aggregate over the won deals per organization (`_won_per_organization`) is the base of every
figure; each figure is one SQL statement over it with GROUP BY and window functions (ROW_NUMBER,
NTILE, COUNT() OVER), so the number of queries is fixed whatever the number of customers:
Pareto (1), RFM segments with their largest members (1), churn risk (1), loyalty tiers (1),
lifetime value (1), top customers by lifetime revenue (1), win-back candidates (1).

At 50,000 customers with 200,000 won deals and 600,000 activities the seven statements take about
4-5 s on Postgres together (each a pass over the won deals); the page is served from its snapshot.

The lists that can become a campaign segment (`LIST_KEYS`) are the same statements without the
display limit (`list_organization_ids`).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.figures import Figure, money_rows
from analytics.scope import Period, Scope, scope_from
from analytics.snapshots import serializable
from contacts.models import Activity, Organization
from crm.roles import Role, has_role
from sales import money
from sales.models import Deal, Territory
from service.services import vip_organizations

CENT = Decimal("0.01")
DAY = timedelta(days=1)
YEAR = timedelta(days=365)
LIST_SIZE = 50  # rows shown of a long list (the segment made from it has them all)
TOP_LIFETIME_SIZE = 10
SEGMENT_SAMPLE_SIZE = 5  # largest customers shown per RFM segment

# Churn risk: revenue of the last 12 months at least this many percent below the 12 months before,
# or no activity for CHURN_SILENT_DAYS after at least CHURN_ACTIVE_BEFORE activities in the year before.
CHURN_REVENUE_DROP = 50
CHURN_SILENT_DAYS = 90
CHURN_ACTIVE_BEFORE = 3

# Loyalty tiers by revenue of the last 12 months (EUR, at least). Gold starts where the marketing
# "loyalty" segment preset does (won revenue of at least 50,000 €).
TIERS = [
    ("platinum", gettext_lazy("Platinum"), 100_000),
    ("gold", gettext_lazy("Gold"), 50_000),
    ("silver", gettext_lazy("Silver"), 10_000),
    ("bronze", gettext_lazy("Bronze"), 0),
]

# RFM segments by recency score R and the rounded mean of frequency and monetary scores FM (1-5),
# checked in this order. Every (R, FM) pair falls into exactly one.
RFM_SEGMENTS = [
    ("champions", gettext_lazy("Champions"), "r >= 4 AND fm >= 4"),
    ("loyal", gettext_lazy("Loyal"), "r >= 3 AND fm >= 3"),
    ("new", gettext_lazy("New and promising"), "r >= 4"),
    ("need_attention", gettext_lazy("Need attention"), "r = 3"),
    ("cant_lose", gettext_lazy("Can't lose"), "fm >= 4"),
    ("at_risk", gettext_lazy("At risk"), "fm = 3"),
    ("hibernating", gettext_lazy("Hibernating"), "1 = 1"),
]
RFM_KEYS = [key for key, _label, _condition in RFM_SEGMENTS]
LIST_KEYS = ["top", "churn", "win_back", *(f"rfm_{key}" for key in RFM_KEYS)]


def cents(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def percent(part, whole) -> float | None:
    return round(100 * float(part) / float(whole), 1) if whole else None


def _moment(value) -> datetime | None:
    """A datetime read by a raw cursor: SQLite gives text in UTC, Postgres an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def _days_since(moment, now: datetime) -> int | None:
    moment = _moment(moment)
    return None if moment is None else (now - moment).days


@serializable
@dataclass
class CustomersDashboard:
    cards: list[Figure]
    pareto: dict
    top_customers: list[dict]
    rfm: list[dict]
    churn: list[dict]
    churn_count: int
    tiers: list[dict]
    lifetime: dict
    top_lifetime: list[dict]
    win_back: list[dict]
    win_back_count: int
    notes: dict = field(default_factory=dict)

    def csv_rows(self) -> Iterator[tuple]:
        """(figure, item, measure, value): every number of the page, one per row."""
        yield from money_rows(self.notes)
        for card in self.cards:
            yield card.label, "", _("Value"), card.value
            if card.total is not None:
                yield card.label, "", _("Out of"), card.total
                yield card.label, "", _("Share in %"), "" if card.share is None else card.share
        section = _("Top 20 % of customers")
        yield section, "", _("Customers"), self.pareto["top_count"]
        yield section, "", _("Revenue"), self.pareto["top_revenue"]
        yield section, "", _("Share of revenue in %"), "" if self.pareto["share"] is None else self.pareto["share"]
        for row in self.top_customers:
            yield section, row["label"], _("Revenue"), row["revenue"]
        section = _("RFM segments")
        for row in self.rfm:
            yield section, row["label"], _("Customers"), row["count"]
            yield section, row["label"], _("Revenue"), row["revenue"]
        section = _("Churn risk")
        for row in self.churn:
            yield section, row["label"], _("Revenue, last 12 months"), row["revenue_12m"]
            yield section, row["label"], _("Revenue, 12 months before"), row["revenue_prev_12m"]
            yield section, row["label"], _("Reason"), row["reason"]
        section = _("Loyalty tiers")
        for row in self.tiers:
            yield section, row["label"], _("Customers"), row["count"]
            yield section, row["label"], _("Revenue, last 12 months"), row["revenue"]
            yield section, row["label"], _("VIP customers"), row["vip"]
        section = _("Customer lifetime value")
        yield section, "", _("Customers"), self.lifetime["customers"]
        yield section, "", _("Average revenue per customer and year"), self.lifetime["yearly"]
        yield section, "", _("Average lifespan in years"), self.lifetime["years"]
        yield section, "", _("Lifetime value"), self.lifetime["value"]
        for row in self.top_lifetime:
            yield section, row["label"], _("Lifetime revenue"), row["lifetime"]
        section = _("Win-back candidates")
        for row in self.win_back:
            yield section, row["label"], _("Lifetime revenue"), row["lifetime"]
            yield section, row["label"], _("Days since the last won deal"), row["days"]


def customers_scope(params):
    """The filter form (owner and team of the organization, deal territory, period) and its scope;
    the period is the revenue window and defaults to the last 12 months."""
    if not (params or {}).get("period"):
        # The form shows the period it counts (the shared form would show its first choice).
        params = params.copy() if hasattr(params, "copy") else QueryDict(mutable=True)
        params["period"] = Period.LAST_12_MONTHS
    return scope_from(
        params, default_period=Period.LAST_12_MONTHS,
        territories=Territory.objects.filter(is_active=True).order_by("priority", "name"),
    )


def compute(user, params) -> "CustomersDashboard":
    """For analytics.snapshots: the dashboard of `user` for the filter `params`."""
    return customers_dashboard(user=user, scope=customers_scope(params)[1])


# --- SQL -------------------------------------------------------------------------------------------


def _bounds(scope: Scope) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(scope.start, time.min), tz)
    end = timezone.make_aware(datetime.combine(scope.end + DAY, time.min), tz)
    return start, end


def _sql_ready(queryset):
    """`none()` cannot be written as SQL (it raises EmptyResultSet): the same empty set as a filter."""
    return queryset.model.objects.filter(pk__isnull=True) if queryset.query.is_empty() else queryset


def opens_deals(user) -> bool:
    return has_role(user, Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)


def value_deals(user):
    """The deals whose amounts make a customer's value for the user. Sales roles and admins count
    the deals they may see. Marketing, which sees no deal, segments customers by value all the
    same (campaign results show it won revenue too): it counts every deal's amount, in sums per
    organization only, and gets no link to a deal."""
    if opens_deals(user):
        return Deal.objects.visible_to(user)
    return Deal.objects.all() if has_role(user, Role.MARKETING) else Deal.objects.none()


def scoped_deals(*, user, scope: Scope):
    """The value deals of the user (value_deals), of organizations the user may see, narrowed to the scope."""
    organizations = scope.owned(Organization.objects.visible_to(user))
    deals = _sql_ready(value_deals(user)).filter(organization__isnull=False)
    if organizations.query.is_empty():
        return _sql_ready(deals.none())
    if organizations.query.where:  # everyone sees every organization today: no subquery for nothing
        deals = deals.filter(organization__in=organizations.values("pk"))
    if scope.territory_id:
        deals = deals.filter(territory_id=scope.territory_id)
    return deals


def _won_per_organization(*, user, scope: Scope, now: datetime):
    """One row per organization with a won deal: revenue and won deals in the period, in the last
    12 months and the 12 months before, over all time, and the first and last won deal."""
    start_at, end_at = _bounds(scope)
    in_period = Q(closed_at__gte=start_at, closed_at__lt=end_at)
    last_12 = Q(closed_at__gte=now - YEAR)
    before_12 = Q(closed_at__gte=now - 2 * YEAR, closed_at__lt=now - YEAR)
    zero = Decimal("0")
    amount = money.converted()  # in the company currency, each deal at the rate of the day it was won
    return (
        scoped_deals(user=user, scope=scope)
        .filter(status=Deal.Status.WON, closed_at__isnull=False)
        .values("organization_id")
        .annotate(
            revenue=Coalesce(Sum(amount, filter=in_period), zero), frequency=Count("pk", filter=in_period),
            revenue_12m=Coalesce(Sum(amount, filter=last_12), zero), won_12m=Count("pk", filter=last_12),
            revenue_prev_12m=Coalesce(Sum(amount, filter=before_12), zero),
            lifetime=Coalesce(Sum(amount), zero), won_count=Count("pk"), first_won=Min("closed_at"),
            last_won=Max("closed_at"), unconverted=money.unconverted(),
        )
        .order_by()
    )


def _open_per_organization(*, user, scope: Scope):
    return (
        scoped_deals(user=user, scope=scope).filter(status=Deal.Status.OPEN)
        .values("organization_id").annotate(open_count=Count("pk")).order_by()
    )


def _activity_per_organization(*, user, scope: Scope, now: datetime):
    """Activities of the customers in the churn windows: the last one, those of the last
    CHURN_SILENT_DAYS and those of the year before that."""
    silent_since = now - timedelta(days=CHURN_SILENT_DAYS)
    customers = scoped_deals(user=user, scope=scope).filter(status=Deal.Status.WON).values("organization_id")
    return (
        _sql_ready(Activity.objects.visible_to(user))
        .filter(organization__in=customers, occurred_at__gte=silent_since - YEAR, occurred_at__lte=now)
        .values("organization_id")
        .annotate(
            last_activity=Max("occurred_at"),
            recent=Count("pk", filter=Q(occurred_at__gte=silent_since)),
            earlier=Count("pk", filter=Q(occurred_at__lt=silent_since)),
        )
        .order_by()
    )


def _with(*ctes) -> tuple[str, list]:
    """`WITH name AS (sql), ...` from (name, queryset) pairs; the querysets' own SQL with their
    values as parameters, so no value is ever written into the statement."""
    parts, params = [], []
    for name, queryset in ctes:
        sql, query_params = queryset.query.sql_with_params()
        parts.append(f"{name} AS ({sql})")
        params.extend(query_params)
    return "WITH " + ", ".join(parts), params


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        # The statement is ours and the querysets' SQL; every value is a parameter.
        cursor.execute(sql, params)  # nosec B608
        return cursor.fetchall()


def _years_between(first: str, last: str) -> str:
    """SQL for the years between two timestamps (365.25 days a year)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({last} - {first})) / 31557600.0)"
    return f"((julianday({last}) - julianday({first})) / 365.25)"


# The statements below are constant text; contacts_organization is Organization's table (a test
# asserts it).

# Customers in the period by revenue, largest first; the top 20 % are the first ceil(n / 5).
PARETO = """
, ranked AS (
  SELECT organization_id, revenue,
         ROW_NUMBER() OVER (ORDER BY revenue DESC, organization_id) AS place,
         COUNT(*) OVER () AS customers, SUM(revenue) OVER () AS total
  FROM won WHERE revenue > 0
), listed AS (
  SELECT ranked.*, SUM(CASE WHEN place <= (customers + 4) / 5 THEN revenue ELSE 0 END) OVER () AS top_revenue
  FROM ranked
)
SELECT listed.organization_id, org.name, listed.revenue, listed.place, listed.customers, listed.total,
       listed.top_revenue
FROM listed JOIN contacts_organization org ON org.id = listed.organization_id
WHERE listed.place <= (listed.customers + 4) / 5"""

# Every customer ever (an organization with a won deal) scored 1-5 by quintile. Ties are broken by
# the other measures, then by the organization's number, so equal customers may get neighbouring
# scores (NTILE makes groups of equal size).
RFM = """
, scored AS (
  SELECT organization_id, revenue, lifetime,
         NTILE(5) OVER (ORDER BY last_won, frequency, revenue, organization_id) AS r,
         NTILE(5) OVER (ORDER BY frequency, revenue, last_won, organization_id) AS f,
         NTILE(5) OVER (ORDER BY revenue, frequency, last_won, organization_id) AS m
  FROM won
), segmented AS (
  SELECT organization_id, revenue, lifetime, r, f, m, CASE {cases} END AS segment
  FROM (SELECT scored.*, (f + m + 1) / 2 AS fm FROM scored) AS scores
)"""


def _rfm_cte() -> str:
    cases = " ".join(f"WHEN {condition} THEN '{key}'" for key, _label, condition in RFM_SEGMENTS)
    return RFM.format(cases=cases)


# Churn risk: a customer of the last 24 months who is not a win-back candidate (won in the last 12
# months or has an open deal), whose revenue fell or whose activity stopped.
CHURN = """
SELECT won.organization_id, org.name, won.revenue_12m, won.revenue_prev_12m, act.last_activity,
       COALESCE(act.earlier, 0), COUNT(*) OVER () AS listed_count,
       ROW_NUMBER() OVER (ORDER BY won.revenue_prev_12m DESC, won.organization_id) AS place
FROM won
JOIN contacts_organization org ON org.id = won.organization_id
LEFT JOIN act ON act.organization_id = won.organization_id
LEFT JOIN open_deals ON open_deals.organization_id = won.organization_id
WHERE (won.revenue_12m > 0 OR won.revenue_prev_12m > 0)
  AND (won.won_12m > 0 OR open_deals.organization_id IS NOT NULL)
  AND ((won.revenue_prev_12m > 0 AND won.revenue_12m * 100 <= won.revenue_prev_12m * %s)
       OR (COALESCE(act.recent, 0) = 0 AND COALESCE(act.earlier, 0) >= %s))"""

# Win-back: won deals before, none in the last 12 months, no open deal.
WIN_BACK = """
SELECT won.organization_id, org.name, won.lifetime, won.won_count, won.last_won, COUNT(*) OVER () AS listed_count,
       ROW_NUMBER() OVER (ORDER BY won.lifetime DESC, won.organization_id) AS place
FROM won
JOIN contacts_organization org ON org.id = won.organization_id
LEFT JOIN open_deals ON open_deals.organization_id = won.organization_id
WHERE won.won_12m = 0 AND open_deals.organization_id IS NULL"""


def _statement(key: str, *, user, scope: Scope, now: datetime) -> tuple[str, list]:
    """The SQL of a list (LIST_KEYS) with its parameters: its first column is the organization,
    `place` its place in the list; unordered and unlimited (see `_first`)."""
    won = _won_per_organization(user=user, scope=scope, now=now)
    if key == "top":
        prefix, params = _with(("won", won))
        return prefix + PARETO, params
    if key == "churn":
        prefix, params = _with(
            ("won", won), ("act", _activity_per_organization(user=user, scope=scope, now=now)),
            ("open_deals", _open_per_organization(user=user, scope=scope)),
        )
        return prefix + CHURN, [*params, 100 - CHURN_REVENUE_DROP, CHURN_ACTIVE_BEFORE]
    if key == "win_back":
        prefix, params = _with(("won", won), ("open_deals", _open_per_organization(user=user, scope=scope)))
        return prefix + WIN_BACK, params
    if key.startswith("rfm_") and key[4:] in RFM_KEYS:
        prefix, params = _with(("won", won))
        sql = (
            f"{prefix}{_rfm_cte()} SELECT organization_id, ROW_NUMBER() OVER "  # nosec B608
            "(ORDER BY revenue DESC, lifetime DESC, organization_id) AS place FROM segmented WHERE segment = %s"
        )
        return sql, [*params, key[4:]]
    raise KeyError(key)


def _first(sql: str, params, limit: int) -> list[tuple]:
    """The first `limit` rows of a list. Filtering on the place rather than LIMIT: with LIMIT,
    Postgres plans for a few rows (nested loops) although COUNT() OVER () needs them all."""
    return _fetch(f"SELECT * FROM ({sql}) AS listed WHERE place <= %s ORDER BY place", [*params, limit])  # nosec B608


def list_organization_ids(key: str, *, user, scope: Scope, limit: int) -> list[int]:
    """The organizations of one list of the dashboard (a LIST_KEYS key), in the page's order."""
    sql, params = _statement(key, user=user, scope=scope, now=timezone.now())
    rows = _first(sql, params, limit)
    return [row[0] for row in rows]


def list_label(key: str) -> str:
    labels = {"top": _("Top 20 % of customers"), "churn": _("Churn risk"), "win_back": _("Win-back candidates")}
    labels.update({f"rfm_{k}": str(label) for k, label, _condition in RFM_SEGMENTS})
    return labels[key]


# --- The dashboard ---------------------------------------------------------------------------------


def _organization_url(pk: int) -> str:
    return reverse("contacts:organization_detail", args=[pk])


def _won_deals_url(pk: int) -> str:
    return f"{reverse('sales:deal_list')}?status=won&organization={pk}&sort=-close"


def _churn_reason(revenue_12m: Decimal, revenue_prev_12m: Decimal, last_activity, before: int, now) -> str:
    reasons = []
    if revenue_prev_12m > 0 and revenue_12m * 100 <= revenue_prev_12m * (100 - CHURN_REVENUE_DROP):
        change = round(100 * (revenue_12m - revenue_prev_12m) / revenue_prev_12m)
        reasons.append(_("revenue %(change)s %% vs. the 12 months before") % {"change": f"{change:+d}".replace("-", "−")})
    days = _days_since(last_activity, now)
    if before >= CHURN_ACTIVE_BEFORE and (days is None or days >= CHURN_SILENT_DAYS):
        reasons.append(_("no activity for %(days)s days, %(before)s in the year before") % {"days": days, "before": before})
    return "; ".join(reasons)


def customers_dashboard(*, user, scope: Scope) -> CustomersDashboard:
    now = timezone.now()
    won = _won_per_organization(user=user, scope=scope, now=now)

    # Pareto: the top 20 % of the customers in the period and their share of its revenue.
    sql, params = _statement("top", user=user, scope=scope, now=now)
    rows = _first(sql, params, LIST_SIZE)
    customers = rows[0][4] if rows else 0
    total = cents(rows[0][5]) if rows else cents(0)
    top_revenue = cents(rows[0][6]) if rows else cents(0)
    pareto = {
        "customers": customers, "top_count": (customers + 4) // 5, "total": total, "top_revenue": top_revenue,
        "share": percent(top_revenue, total),
    }
    top_customers = [
        {"label": name, "organization_id": pk, "url": _organization_url(pk), "revenue": cents(revenue),
         "share": percent(revenue, total), "deals_url": _won_deals_url(pk)}
        for pk, name, revenue, _place, _customers, _total, _top in rows
    ]

    # RFM: customers and revenue per segment and the largest customers of each, in one statement
    # (per-segment totals as windows over the segment, then the first SEGMENT_SAMPLE_SIZE rows).
    prefix, params = _with(("won", won))
    rows = _fetch(
        f"{prefix}{_rfm_cte()} SELECT sampled.segment, sampled.organization_id, org.name, sampled.revenue, "  # nosec B608
        "sampled.customers, sampled.segment_revenue, sampled.segment_lifetime, sampled.r_average, sampled.f_average, "
        "sampled.m_average FROM (SELECT segmented.*, "
        "ROW_NUMBER() OVER (PARTITION BY segment ORDER BY revenue DESC, lifetime DESC, organization_id) AS place, "
        "COUNT(*) OVER (PARTITION BY segment) AS customers, SUM(revenue) OVER (PARTITION BY segment) AS segment_revenue, "
        "SUM(lifetime) OVER (PARTITION BY segment) AS segment_lifetime, AVG(r) OVER (PARTITION BY segment) AS r_average, "
        "AVG(f) OVER (PARTITION BY segment) AS f_average, AVG(m) OVER (PARTITION BY segment) AS m_average "
        "FROM segmented) AS sampled JOIN contacts_organization org ON org.id = sampled.organization_id "
        "WHERE sampled.place <= %s ORDER BY sampled.segment, sampled.place",
        [*params, SEGMENT_SAMPLE_SIZE],
    )
    by_segment = {row[0]: row for row in rows}
    rfm = []
    for key, label, _condition in RFM_SEGMENTS:
        row = by_segment.get(key)
        rfm.append({
            "key": key, "list": f"rfm_{key}", "label": str(label), "count": row[4] if row else 0,
            "revenue": cents(row[5] if row else 0), "lifetime": cents(row[6] if row else 0),
            "r": round(float(row[7]), 1) if row else None, "f": round(float(row[8]), 1) if row else None,
            "m": round(float(row[9]), 1) if row else None,
            "members": [
                {"label": sample[2], "url": _organization_url(sample[1]), "revenue": cents(sample[3])}
                for sample in rows if sample[0] == key
            ],
        })

    # Churn risk.
    sql, params = _statement("churn", user=user, scope=scope, now=now)
    rows = _first(sql, params, LIST_SIZE)
    churn_count = rows[0][6] if rows else 0
    churn = []
    for pk, name, revenue_12m, revenue_prev_12m, last_activity, before, _count, _place in rows:
        revenue_12m, revenue_prev_12m = cents(revenue_12m), cents(revenue_prev_12m)
        churn.append({
            "label": name, "url": _organization_url(pk), "revenue_12m": revenue_12m,
            "revenue_prev_12m": revenue_prev_12m, "last_activity_days": _days_since(last_activity, now),
            "reason": _churn_reason(revenue_12m, revenue_prev_12m, last_activity, before, now),
        })

    # Loyalty tiers by revenue of the last 12 months, with the service app's VIP customers.
    vip_sql, vip_params = vip_organizations(Organization.objects.all()).values("pk").query.sql_with_params()
    tier_case = " ".join(f"WHEN revenue_12m >= %s THEN '{key}'" for key, _label, _minimum in TIERS[:-1])
    prefix, params = _with(("won", won))
    tier_rows = _fetch(
        f"{prefix} SELECT CASE {tier_case} ELSE '{TIERS[-1][0]}' END AS tier, COUNT(*), SUM(revenue_12m), "  # nosec B608
        f"SUM(CASE WHEN organization_id IN ({vip_sql}) THEN 1 ELSE 0 END) FROM won WHERE revenue_12m > 0 GROUP BY tier",
        [*params, *(minimum for _key, _label, minimum in TIERS[:-1]), *vip_params],
    )
    by_tier = {row[0]: row for row in tier_rows}
    tiers = [
        {"key": key, "label": str(label), "minimum": minimum, "count": by_tier[key][1] if key in by_tier else 0,
         "revenue": cents(by_tier[key][2] if key in by_tier else 0), "vip": by_tier[key][3] if key in by_tier else 0}
        for key, label, minimum in TIERS
    ]

    # Customer lifetime value: mean yearly revenue × mean lifespan (at least one year each).
    years = _years_between("first_won", "last_won")
    lifetime_row = _fetch(
        f"{prefix}, spans AS (SELECT lifetime, unconverted, CASE WHEN {years} < 1 THEN 1.0 ELSE {years} END AS years "  # nosec B608
        "FROM won) SELECT COUNT(*), SUM(lifetime), AVG(lifetime / years), AVG(years), SUM(unconverted) FROM spans",
        params,
    )[0]
    customers_ever = lifetime_row[0] or 0
    yearly, average_years = Decimal(str(lifetime_row[2] or 0)), Decimal(str(lifetime_row[3] or 0))
    lifetime = {
        "customers": customers_ever, "revenue": cents(lifetime_row[1]), "yearly": cents(yearly),
        "years": average_years.quantize(CENT), "value": cents(yearly * average_years),
    }
    top_lifetime = [
        {"label": name, "url": _organization_url(pk), "deals_url": _won_deals_url(pk), "lifetime": cents(amount),
         "won_count": count, "first_won": _moment(first).date() if first else None,
         "last_won": _moment(last).date() if last else None}
        for pk, name, amount, count, first, last in _fetch(
            f"{prefix} SELECT won.organization_id, org.name, won.lifetime, won.won_count, won.first_won, won.last_won "  # nosec B608
            "FROM won JOIN contacts_organization org ON org.id = won.organization_id "
            "ORDER BY won.lifetime DESC, won.organization_id LIMIT %s",
            [*params, TOP_LIFETIME_SIZE],
        )
    ]

    # Win-back candidates.
    sql, params = _statement("win_back", user=user, scope=scope, now=now)
    rows = _first(sql, params, LIST_SIZE)
    win_back_count = rows[0][5] if rows else 0
    win_back = [
        {"label": name, "url": _organization_url(pk), "deals_url": _won_deals_url(pk), "lifetime": cents(amount),
         "won_count": count, "days": _days_since(last, now)}
        for pk, name, amount, count, last, _count, _place in rows
    ]

    cards = [
        Figure("revenue", _("Revenue in the period"), total, None, "",
               _("Amount of the deals won in the period.")),
        Figure("customers", _("Customers in the period"), customers, None, "",
               _("Organizations with a won deal in the period.")),
        Figure("pareto", _("Revenue from the top 20 %"), top_revenue, total, "#top-title",
               _("Share of the period's revenue from the top fifth of its customers.")),
        Figure("lifetime_value", _("Customer lifetime value"), lifetime["value"], None, "",
               _("Average revenue per customer and year × average customer lifespan in years.")),
        Figure("churn", _("Churn risk"), churn_count, None, "#churn-title",
               _("Customers whose revenue or activity is falling.")),
        Figure("win_back", _("Win-back candidates"), win_back_count, None, "#win-back-title",
               _("Former customers: no deal won in 12 months and none open.")),
    ]
    # Won deals the revenue leaves out for lack of an exchange rate (sales.money).
    notes = {
        "vip_revenue": settings.SERVICE_VIP_REVENUE, "unconverted": int(lifetime_row[4] or 0),
        "unconverted_url": f"{reverse('sales:deal_list')}?status=won&no_rate=on" if opens_deals(user) else "",
    }
    if not opens_deals(user):
        for row in [*top_customers, *top_lifetime, *win_back]:
            row["deals_url"] = ""
    return CustomersDashboard(
        cards, pareto, top_customers, rfm, churn, churn_count, tiers, lifetime, top_lifetime, win_back,
        win_back_count, notes,
    )
