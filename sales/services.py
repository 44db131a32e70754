"""Sales workflows: capture and assignment of leads, stage moves, won/lost, figures for other apps.

Keyword-only, atomic. Other apps (marketing, analytics) use `lead_capture`, `campaign_figures`,
`customer_revenue` and `forecast` from here.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_update_with_history

from crm import changefeed, webhooks
from crm.models import Team, managed_user_ids
from crm.money import company_currency
from crm.roles import Role, has_role
from sales import money
from sales.models import Deal, Lead, Pipeline, Quota, Stage, StageChange, Territory

ZERO = Decimal("0.00")


# --- territories and round-robin ------------------------------------------------------------


def territory_for(*, country: str = "", postal_code: str = "", industry: str = "") -> Territory | None:
    """The first active territory (by priority) with a rule matching the address and industry."""
    territories = Territory.objects.filter(is_active=True).prefetch_related("rules").order_by("priority", "name")
    for territory in territories:
        if any(rule.matches(country=country, postal_code=postal_code, industry=industry) for rule in territory.rules.all()):
            return territory
    return None


def territory_next_rep(*, territory: Territory):
    """The territory's next rep in turn (round-robin by user id), remembered under a row lock so
    that two simultaneous assignments get different reps. None when the territory has no reps."""
    with transaction.atomic():
        locked = Territory.objects.select_for_update().get(pk=territory.pk)
        reps = list(locked.reps.filter(is_active=True).order_by("pk"))
        if not reps:
            return None
        following = [rep for rep in reps if locked.last_assigned_id is not None and rep.pk > locked.last_assigned_id]
        rep = following[0] if following else reps[0]
        locked.last_assigned = rep
        locked.save(update_fields=["last_assigned"])
        territory.last_assigned = rep
        return rep


def assign_owner(*, country: str = "", postal_code: str = "", industry: str = ""):
    """(territory, owner) for a new record at this address; either may be None."""
    territory = territory_for(country=country, postal_code=postal_code, industry=industry)
    if territory is None:
        return None, None
    return territory, territory_next_rep(territory=territory)


# --- leads ----------------------------------------------------------------------------------


@transaction.atomic
def lead_capture(
    *,
    first_name: str,
    last_name: str,
    email: str,
    company: str = "",
    phone: str = "",
    source: str,
    campaign_code: str = "",
    utm: dict | None = None,
    note: str = "",
    owner=None,
) -> Lead:
    """Create a lead, or update the open lead with the same email. A new lead without an owner gets
    one through the territory rules (round-robin)."""
    email = (email or "").strip().lower()
    if source not in Lead.Source.values:
        source = Lead.Source.OTHER
    lead = None
    if email:
        lead = Lead.objects.select_for_update().open().filter(email=email).order_by("-created_at").first()
    if lead is None:
        lead = Lead(email=email, status=Lead.Status.NEW)
    lead.first_name = first_name or lead.first_name
    lead.last_name = last_name or lead.last_name or email
    lead.company = company or lead.company
    lead.phone = phone or lead.phone
    lead.source = source if lead._state.adding or not lead.source else lead.source
    if campaign_code:
        lead.campaign_code = campaign_code[:64]
    if utm:
        lead.utm = {**(lead.utm or {}), **{str(k)[:50]: str(v)[:200] for k, v in utm.items()}}
    if note:
        lead.note = f"{lead.note}\n\n{note}".strip() if lead.note else note
    if owner is not None:
        lead.owner = owner
    elif lead.owner_id is None:
        lead.territory, lead.owner = assign_owner(
            country=str(lead.country or ""), postal_code=lead.postal_code, industry=lead.industry
        )
    lead.full_clean(exclude=["utm", "converted_deal"])
    created = lead._state.adding
    lead.save()
    if created:
        webhooks.emit("lead.created", lead)
    return lead


def lead_record_created(*, lead: Lead) -> Lead:
    """Save a lead made on the create page or through the API: without an owner it gets one by
    the territory rules; the automation rules of its status run after the commit."""
    if lead.owner_id is None:
        lead.territory, lead.owner = assign_owner(
            country=str(lead.country or ""), postal_code=lead.postal_code, industry=lead.industry
        )
    lead.save()
    lead_status_changed(lead=lead)
    webhooks.emit("lead.created", lead)
    return lead


# --- deals: stage moves, won and lost --------------------------------------------------------


class MoveRefused(ValidationError):
    """The board shows the message; the card goes back."""


def _enter_stage(*, deal: Deal, stage: Stage, user, now) -> None:
    """Record the stage change, close the previous one, follow the stage's probability."""
    StageChange.objects.filter(deal=deal, left_at__isnull=True).update(left_at=now)
    StageChange.objects.create(deal=deal, from_stage_id=deal.stage_id, to_stage=stage, changed_at=now, changed_by=user)
    deal.stage = stage
    deal.stage_entered_at = now
    deal.last_activity_at = now
    if not deal.probability_overridden:
        deal.probability = stage.probability
    if stage.is_won:
        deal.status, deal.closed_at, deal.probability = Deal.Status.WON, now, 100
    elif stage.is_lost:
        deal.status, deal.closed_at, deal.probability = Deal.Status.LOST, now, 0
    else:
        deal.status, deal.closed_at = Deal.Status.OPEN, None


def _after_stage_entered(deal: Deal, change_pk: int | None = None) -> None:
    from sales.tasks import run_deal_stage_rules

    stage_id = deal.stage_id
    key = f"deal:{deal.pk}:stage:{stage_id}:{deal.stage_entered_at.isoformat()}"
    transaction.on_commit(lambda: run_deal_stage_rules.delay(deal.pk, stage_id, key))


@transaction.atomic
def deal_move(*, deal: Deal, stage: Stage, user) -> Deal:
    """Move a deal to another stage of its pipeline (the board's drag and drop)."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if not Deal.objects.editable_by(user).filter(pk=deal.pk).exists():
        raise PermissionDenied
    if stage.pipeline_id != deal.pipeline_id:
        raise MoveRefused(_("This stage belongs to another pipeline."))
    if not deal.is_open:
        raise MoveRefused(_("The deal “%(deal)s” is closed; reopen it before moving it.") % {"deal": deal.name})
    if stage.is_lost:
        raise MoveRefused(_("A lost deal needs a reason: use “Mark as lost” on the deal."))
    if stage.pk == deal.stage_id:
        return deal
    _enter_stage(deal=deal, stage=stage, user=user, now=timezone.now())
    deal.save()
    _after_stage_entered(deal)
    _emit_stage(deal)
    return deal


def _emit_stage(deal: Deal) -> None:
    """Webhooks: a move into a won stage is "deal.won", else "deal.stage_changed"."""
    if deal.status == Deal.Status.WON:
        webhooks.emit("deal.won", deal)
    elif deal.status == Deal.Status.LOST:
        webhooks.emit("deal.lost", deal)
    else:
        webhooks.emit("deal.stage_changed", deal)


@transaction.atomic
def deal_mark_won(*, deal: Deal, user, note: str = "") -> Deal:
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if not deal.is_open:
        raise MoveRefused(_("The deal is already closed."))
    stage = deal.pipeline.stages.filter(is_won=True).order_by("order").first()
    if stage is None:
        raise MoveRefused(_("This pipeline has no won stage."))
    _enter_stage(deal=deal, stage=stage, user=user, now=timezone.now())
    deal.close_note = note
    deal.save()
    _after_stage_entered(deal)
    _emit_stage(deal)
    return deal


@transaction.atomic
def deal_mark_lost(*, deal: Deal, user, reason: str, note: str = "") -> Deal:
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if not deal.is_open:
        raise MoveRefused(_("The deal is already closed."))
    if reason not in Deal.LostReason.values:
        raise ValidationError({"lost_reason": _("Choose a reason.")})
    stage = deal.pipeline.stages.filter(is_lost=True).order_by("order").first()
    if stage is None:
        raise MoveRefused(_("This pipeline has no lost stage."))
    deal.lost_reason = reason
    _enter_stage(deal=deal, stage=stage, user=user, now=timezone.now())
    deal.close_note = note
    deal.save()
    _after_stage_entered(deal)
    _emit_stage(deal)
    return deal


@transaction.atomic
def deal_reopen(*, deal: Deal, user) -> Deal:
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if deal.is_open:
        return deal
    stage = deal.pipeline.first_stage()
    if stage is None:
        raise MoveRefused(_("This pipeline has no open stage."))
    deal.lost_reason = ""
    deal.close_note = ""
    _enter_stage(deal=deal, stage=stage, user=user, now=timezone.now())
    deal.save()
    _emit_stage(deal)
    return deal


def deal_record_created(*, deal: Deal, user) -> None:
    """The first stage entry of a new deal, so that time in stage starts at creation."""
    StageChange.objects.create(deal=deal, to_stage_id=deal.stage_id, changed_at=deal.stage_entered_at, changed_by=user)
    webhooks.emit("deal.created", deal)


# --- amounts in the company currency ---------------------------------------------------------


def deals_convert(*, currencies=None, deal_ids=None) -> int:
    """Store the amount in the company currency (Deal.converted_amount, rule in sales.money) of
    the deals in `currencies` or with `deal_ids` (default: all), in three UPDATE statements that
    write only the deals whose value changed; returns how many. Idempotent: after a rate changes,
    after bulk inserts, and every six hours (rates valid from a later day, "today" moving on)."""
    company = company_currency()
    deals = Deal.objects.all()
    if currencies is not None:
        deals = deals.filter(currency__in=list(currencies))
    if deal_ids is not None:
        deals = deals.filter(pk__in=list(deal_ids))
    # exclude(x=y) keeps the rows where x is NULL: those are written too.
    changed = deals.filter(currency=company).exclude(converted_amount=F("amount")).update(converted_amount=F("amount"))
    foreign = deals.exclude(currency=company)
    value = money.conversion()
    changed += foreign.filter(money.has_rate()).exclude(converted_amount=value).update(converted_amount=value)
    changed += foreign.filter(converted_amount__isnull=False).exclude(money.has_rate()).update(converted_amount=None)
    return changed


# --- figures for other apps ------------------------------------------------------------------


def campaign_figures(codes: list[str]) -> dict[str, dict]:
    """Leads, deals, won deals and won revenue (in the company currency, see sales.money) per
    campaign code, and how many won deals lack an exchange rate ("unconverted"), in two queries."""
    codes = [c for c in dict.fromkeys(codes) if c]
    figures = {
        code: {"leads": 0, "deals": 0, "won_deals": 0, "won_revenue": ZERO, "unconverted": 0} for code in codes
    }
    if not codes:
        return figures
    for row in Lead.objects.filter(campaign_code__in=codes).values("campaign_code").annotate(n=Count("pk")).order_by():
        figures[row["campaign_code"]]["leads"] = row["n"]
    deal_rows = (
        Deal.objects.filter(campaign_code__in=codes)
        .values("campaign_code")
        .annotate(
            n=Count("pk"),
            won=Count("pk", filter=Q(status=Deal.Status.WON)),
            revenue=Sum(money.converted(), filter=Q(status=Deal.Status.WON)),
            unconverted=money.unconverted(filter=Q(status=Deal.Status.WON)),
        )
        .order_by()
    )
    for row in deal_rows:
        entry = figures[row["campaign_code"]]
        entry["deals"] = row["n"]
        entry["won_deals"] = row["won"]
        entry["won_revenue"] = Decimal(row["revenue"] or 0).quantize(Decimal("0.01"))
        entry["unconverted"] = row["unconverted"]
    return figures


def customer_revenue(organization_ids) -> dict[int, Decimal]:
    """Won revenue per organization in the company currency (every id asked for is in the answer;
    deals without an exchange rate are left out, see sales.money), in one query."""
    ids = list(organization_ids)
    revenue = {pk: ZERO for pk in ids}
    if not ids:
        return revenue
    rows = (
        Deal.objects.won()
        .filter(organization_id__in=ids)
        .values("organization_id")
        .annotate(total=Sum(money.converted()))
        .order_by()
    )
    for row in rows:
        revenue[row["organization_id"]] = Decimal(row["total"] or 0).quantize(Decimal("0.01"))
    return revenue


# --- forecast -------------------------------------------------------------------------------


def period_bounds(*, period: str, day) -> tuple:
    """First day of the month or quarter containing `day`, and the first day after it."""
    if period == "quarter":
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        months = 3
    else:
        start = day.replace(day=1)
        months = 1
    month_index = start.month - 1 + months
    end = start.replace(year=start.year + month_index // 12, month=month_index % 12 + 1)
    return start, end


def forecast_user_ids(user, *, team_id: int = 0) -> set[int]:
    """Whose figures this user may see: admins everyone in sales, managers their teams, reps themselves."""
    if has_role(user, Role.ADMIN):
        if team_id:
            return set(Team.members.through.objects.filter(team_id=team_id).values_list("user_id", flat=True))
        return set(
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=[Role.SALES_MANAGER, Role.SALES_REP])
            .values_list("pk", flat=True)
        )
    if has_role(user, Role.SALES_MANAGER):
        ids = managed_user_ids(user)
        if team_id:
            ids = ids & set(Team.members.through.objects.filter(team_id=team_id, team__manager=user).values_list("user_id", flat=True))
        return set(ids)
    return {user.pk}


def forecast(*, user_ids, period: str, day, territory_id: int | None = None) -> dict:
    """Forecast per rep for the month or quarter containing `day`, and the total.

    - closed won: won deals closed in the period;
    - commit: closed won + open deals in the forecast category "commit" expected to close in it;
    - best case: commit + open "best case" deals expected to close in it;
    - pipeline: open deals expected to close in it, not omitted; weighted = amount × probability;
    - quota: the rep's quota for the period (a quarter without its own quota: the sum of its months);
    - unconverted: deals left out of the sums for lack of an exchange rate.

    Amounts are in the company currency: each deal converted at the rate valid on its close date
    (sales.money); quotas are in the company currency. Two queries for the deals and the quotas,
    whatever the number of reps."""

    from sales.models import Quota

    start, end = period_bounds(period=period, day=day)
    tz = timezone.get_current_timezone()
    start_at = timezone.make_aware(timezone.datetime.combine(start, timezone.datetime.min.time()), tz)
    end_at = timezone.make_aware(timezone.datetime.combine(end, timezone.datetime.min.time()), tz)
    user_ids = list(user_ids)
    deals = Deal.objects.filter(owner_id__in=user_ids)
    if territory_id:
        deals = deals.filter(territory_id=territory_id)
    won = Q(status=Deal.Status.WON, closed_at__gte=start_at, closed_at__lt=end_at)
    open_in_period = Q(status=Deal.Status.OPEN, expected_close_date__gte=start, expected_close_date__lt=end) & ~Q(
        forecast_category=Deal.ForecastCategory.OMITTED
    )
    amount = money.converted()
    rows = (
        deals.filter(won | open_in_period)
        .values("owner_id")
        .annotate(
            closed_won=Sum(amount, filter=won),
            won_count=Count("pk", filter=won),
            commit_open=Sum(amount, filter=open_in_period & Q(forecast_category=Deal.ForecastCategory.COMMIT)),
            best_open=Sum(amount, filter=open_in_period & Q(forecast_category=Deal.ForecastCategory.BEST_CASE)),
            pipeline=Sum(amount, filter=open_in_period),
            weighted=Sum(money.weighted(), filter=open_in_period),
            open_count=Count("pk", filter=open_in_period),
            unconverted=money.unconverted(),
        )
        .order_by()
    )
    quotas: dict[int, Decimal] = {}
    month_sums: dict[int, Decimal] = {}
    for quota in Quota.objects.filter(user_id__in=user_ids, period_start__gte=start, period_start__lt=end):
        if quota.period == period:
            quotas[quota.user_id] = quotas.get(quota.user_id, ZERO) + quota.amount
        elif period == "quarter" and quota.period == Quota.Period.MONTH:
            month_sums[quota.user_id] = month_sums.get(quota.user_id, ZERO) + quota.amount
    for user_id, amount in month_sums.items():
        quotas.setdefault(user_id, amount)

    def cents(value) -> Decimal:
        return Decimal(value or 0).quantize(Decimal("0.01"))

    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids).order_by("first_name", "last_name", "username")}
    by_owner = {row["owner_id"]: row for row in rows}
    reps = []
    for user_id, user in users.items():
        row = by_owner.get(user_id, {})
        closed_won = cents(row.get("closed_won"))
        commit = closed_won + cents(row.get("commit_open"))
        entry = {
            "user": user,
            "closed_won": closed_won,
            "commit": commit,
            "best_case": commit + cents(row.get("best_open")),
            "pipeline": cents(row.get("pipeline")),
            "weighted": cents(row.get("weighted")),
            "won_count": row.get("won_count", 0),
            "open_count": row.get("open_count", 0),
            "unconverted": row.get("unconverted", 0),
            "quota": quotas.get(user_id),
        }
        entry["attainment"] = (
            round(entry["closed_won"] * 100 / entry["quota"]) if entry["quota"] else None
        )
        reps.append(entry)
    counts = ("won_count", "open_count", "unconverted")
    keys = ("closed_won", "commit", "best_case", "pipeline", "weighted", *counts)
    total = {key: sum((r[key] for r in reps), 0 if key in counts else ZERO) for key in keys}
    quota_values = [r["quota"] for r in reps if r["quota"] is not None]
    total["quota"] = sum(quota_values, ZERO) if quota_values else None
    total["attainment"] = round(total["closed_won"] * 100 / total["quota"]) if total["quota"] else None
    return {"start": start, "end": end, "period": period, "reps": reps, "total": total}


# --- lead qualification and conversion -------------------------------------------------------


def lead_set_status(*, lead: Lead, status: str, disqualify_reason: str = "") -> Lead:
    """Change a lead's status; automation rules for that status run once, after the commit."""
    if status == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("A lead is converted through the conversion.")})
    if status == Lead.Status.DISQUALIFIED and disqualify_reason not in Lead.DisqualifyReason.values:
        raise ValidationError({"disqualify_reason": _("A disqualified lead needs a reason.")})
    if lead.status == status:
        return lead
    lead.status = status
    lead.disqualify_reason = disqualify_reason if status == Lead.Status.DISQUALIFIED else ""
    lead.save()
    lead_status_changed(lead=lead)
    return lead


def lead_status_changed(*, lead: Lead) -> None:
    from sales.tasks import run_lead_status_rules

    key = f"lead:{lead.pk}:status:{lead.status}:{timezone.now().isoformat()}"
    lead_id, status = lead.pk, lead.status
    transaction.on_commit(lambda: run_lead_status_rules.delay(lead_id, status, key))


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    user,
    organization=None,
    create_deal: bool = False,
    deal_name: str = "",
    stage: Stage | None = None,
    amount: Decimal | None = None,
):
    """Turn a lead into a person, an organization (the given one, else one with the same name
    found by the contacts duplicate check, else a new one) and optionally a deal.
    The lead stays (status "converted", linked to what it became) with its history; its
    activities move onto the person's and organization's timeline. Returns (person, organization, deal)."""
    from django.contrib.contenttypes.models import ContentType

    from contacts.models import Activity, Employment, Organization, Person
    from contacts.services.duplicates import find_similar_organizations, find_similar_people

    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not lead.is_open:
        raise ValidationError(_("This lead is already converted or disqualified."))
    if organization is None and lead.company:
        same_name = [c.record for c in find_similar_organizations(name=lead.company, fuzzy=False, limit=1)]
        organization = same_name[0] if same_name else None
        if organization is None:
            organization = Organization(
                name=lead.company, industry=lead.industry, country=lead.country or "DE", owner=lead.owner or user,
            )
            organization.full_clean(exclude=["phone"])
            organization.save()
    person = None
    if lead.email:
        same_email = [c.record for c in find_similar_people(email=lead.email, fuzzy=False, limit=1)]
        person = same_email[0] if same_email else None
    if person is None:
        source = lead.source if lead.source in Person.Source.values else (
            Person.Source.WEBSITE if lead.source == Lead.Source.WEB_FORM else Person.Source.OTHER
        )
        person = Person(
            first_name=lead.first_name, last_name=lead.last_name, email=lead.email, postal_code=lead.postal_code,
            city=lead.city, country=lead.country or "DE", owner=lead.owner or user, source=source,
            lifecycle_stage=Person.Lifecycle.QUALIFIED, description=lead.note,
        )
        person.save()
    if organization is not None:
        Employment.objects.get_or_create(
            person=person, organization=organization, defaults={"position": lead.position, "is_primary": True}
        )
    deal = None
    if create_deal:
        if stage is None or stage.is_closed:
            raise ValidationError({"stage": _("Choose an open stage for the deal.")})
        now = timezone.now()
        deal = Deal.objects.create(
            name=deal_name or str(lead), pipeline=stage.pipeline, stage=stage, organization=organization,
            owner=lead.owner or user, territory=lead.territory, amount=amount or ZERO, probability=stage.probability,
            source=lead.source, campaign_code=lead.campaign_code, lead=lead, stage_entered_at=now, last_activity_at=now,
        )
        deal_record_created(deal=deal, user=user)
        from sales.models import DealContact

        DealContact.objects.create(deal=deal, person=person, role=DealContact.Role.DECISION_MAKER)
    # The lead's activities join the customer's timeline.
    Activity.objects.filter(regarding_type=ContentType.objects.get_for_model(Lead), regarding_id=lead.pk).update(
        person=person, organization=organization
    )
    Activity.objects.create(
        kind=Activity.Kind.NOTE,
        subject=_("Converted from lead “%(lead)s”") % {"lead": lead},
        body=lead.note,
        person=person,
        organization=organization,
        created_by=user,
        regarding_type=ContentType.objects.get_for_model(Lead),
        regarding_id=lead.pk,
    )
    lead.status = Lead.Status.CONVERTED
    lead.converted_person, lead.converted_organization, lead.converted_deal = person, organization, deal
    lead.converted_at = timezone.now()
    # An update of the lead in the feed, with the reason: its columns now name the person,
    # organization and deal, which appear as created records of their own.
    changefeed.mark_reason(lead, "converted")
    lead.save()
    webhooks.emit("lead.converted", lead)  # the lead's columns name the person, organization and deal
    return person, organization, deal


# --- territories: reassignment and organizations ---------------------------------------------


@transaction.atomic
def deals_reassign(*, deal_ids, new_owner, user) -> int:
    """Give the user's editable open deals among `deal_ids` to `new_owner`; returns how many."""
    deals = Deal.objects.editable_by(user).filter(pk__in=list(deal_ids))
    changefeed.record_updated_ids(Deal, list(deals.values_list("pk", flat=True)))
    return deals.update(owner=new_owner, updated_at=timezone.now())


@transaction.atomic
def leads_reassign(*, lead_ids, new_owner, user) -> int:
    leads = Lead.objects.editable_by(user).filter(pk__in=list(lead_ids))
    changefeed.record_updated_ids(Lead, list(leads.values_list("pk", flat=True)))
    return leads.update(owner=new_owner, updated_at=timezone.now())


def organization_assign_owner(*, organization) -> None:
    """A new organization without an owner gets one through the territory rules."""
    if organization.owner_id is not None:
        return
    address = organization.addresses.order_by("pk").first() if organization.pk else None
    _territory, owner = assign_owner(
        country=str(organization.country or ""),
        postal_code=address.postal_code if address else "",
        industry=organization.industry,
    )
    if owner is not None:
        if type(organization).objects.filter(pk=organization.pk, owner__isnull=True).update(owner=owner):
            changefeed.record_updated(organization)
        organization.owner = owner


# --- settings: pipelines and stages, territories, quotas --------------------------------------


class SetupRefused(ValidationError):
    """A settings change the rules do not allow; the page shows the message."""


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Delete a pipeline with its stages; refused while it holds deals (they would have nowhere to go)."""
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    count = Deal.objects.filter(pipeline=pipeline).count()
    if count:
        raise SetupRefused(ngettext(
            "The pipeline holds %(count)d deal. Move it to another pipeline or delete it first.",
            "The pipeline holds %(count)d deals. Move them to another pipeline or delete them first.", count,
        ) % {"count": count})
    pipeline.delete()


@transaction.atomic
def stages_reorder(*, pipeline: Pipeline, stage_ids: list[int]) -> None:
    """Give the pipeline's stages the order of `stage_ids` (all of them, each once); the board
    shows them in that order. Only stages whose position changes are saved (and recorded)."""
    Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stages = {stage.pk: stage for stage in Stage.objects.filter(pipeline=pipeline)}
    if sorted(stage_ids) != sorted(stages):
        raise SetupRefused(_("The order lists other stages than this pipeline has; reload the page and try again."))
    for order, pk in enumerate(stage_ids):
        stage = stages[pk]
        if stage.order != order:
            stage.order = order
            stage.save(update_fields=["order"])


def stage_shift(*, stage: Stage, step: int) -> None:
    """Move a stage one place up (-1) or down (+1), the keyboard twin of dragging it."""
    ids = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).order_by("order", "pk").values_list("pk", flat=True))
    index = ids.index(stage.pk)
    target = index + step
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
        stages_reorder(pipeline=stage.pipeline, stage_ids=ids)


@transaction.atomic
def stage_delete(*, stage: Stage, user, move_to: Stage | None = None) -> int:
    """Delete a stage; its deals first go to `move_to`, a stage of the same pipeline and of the
    same kind (open, won or lost), so that no deal opens or closes because a stage went away.
    Open deals move as on the board (stage change recorded, probability follows the stage, the
    stage's automation rules run); closed deals keep their outcome and date. Returns how many moved.
    The last stage of a pipeline stays."""
    Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    stage = Stage.objects.get(pk=stage.pk)
    if Stage.objects.filter(pipeline_id=stage.pipeline_id).count() <= 1:
        raise SetupRefused(_("A pipeline needs at least one stage: this is its last. Delete the pipeline instead."))
    deals = list(Deal.objects.select_for_update().filter(stage=stage).order_by("pk"))
    if deals:
        if move_to is None:
            raise SetupRefused({"move_to": _("Choose the stage its deals move to.")})
        if move_to.pipeline_id != stage.pipeline_id or move_to.pk == stage.pk:
            raise SetupRefused({"move_to": _("Choose another stage of the same pipeline.")})
        if move_to.kind != stage.kind:
            raise SetupRefused({"move_to": _(
                "Deals of an open stage go to an open stage, of a won stage to a won stage, of a lost stage to a lost stage."
            )})
    now = timezone.now()
    reason = _("Stage “%(stage)s” deleted") % {"stage": stage.name}
    for deal in deals:
        deal._change_reason = reason
        if deal.is_open:
            _enter_stage(deal=deal, stage=move_to, user=user, now=now)
            deal.save()
            _after_stage_entered(deal)
            _emit_stage(deal)
        else:
            StageChange.objects.filter(deal=deal, left_at__isnull=True).update(left_at=now)
            StageChange.objects.create(deal=deal, from_stage_id=deal.stage_id, to_stage=move_to, changed_at=now, changed_by=user)
            deal.stage = move_to
            deal.save()
    stage.delete()
    return len(deals)


@transaction.atomic
def territory_delete(*, territory: Territory, user, move_to: Territory | None = None) -> int:
    """Delete a territory; its leads and deals go to `move_to`, or keep no territory when it is
    None. Each change is recorded in their history. Returns how many records were moved."""
    territory = Territory.objects.select_for_update().get(pk=territory.pk)
    if move_to is not None and move_to.pk == territory.pk:
        raise SetupRefused({"move_to": _("Choose another territory.")})
    reason = _("Territory “%(territory)s” deleted") % {"territory": territory.name}
    moved = 0
    for model in (Lead, Deal):
        records = list(model.objects.select_for_update().filter(territory=territory))
        for record in records:
            record.territory = move_to
        if records:
            bulk_update_with_history(records, model, ["territory"], default_user=user, default_change_reason=reason)
            changefeed.record_updated_ids(model, [r.pk for r in records])
        moved += len(records)
    territory.delete()
    return moved


def quota_reps(*, user):
    """The people whose quotas `user` sets: for admins everyone in sales, for a sales manager the
    members of the teams they lead (not themselves)."""
    from django.contrib.auth import get_user_model

    from crm.models import managed_user_ids
    from crm.roles import Role, has_role

    users = get_user_model().objects.filter(is_active=True, groups__name__in=[Role.SALES_REP, Role.SALES_MANAGER]).distinct()
    if not has_role(user, Role.ADMIN):
        users = users.filter(pk__in=managed_user_ids(user) - {user.pk}) if has_role(user, Role.SALES_MANAGER) else users.none()
    return users.order_by("last_name", "first_name", "username")


def previous_period_start(*, period: str, start):
    months = 3 if period == Quota.Period.QUARTER else 1
    month = start.month - months
    return start.replace(year=start.year + (month - 1) // 12, month=(month - 1) % 12 + 1)


def next_period_start(*, period: str, start):
    months = 3 if period == Quota.Period.QUARTER else 1
    month = start.month + months
    return start.replace(year=start.year + (month - 1) // 12, month=(month - 1) % 12 + 1)


@transaction.atomic
def quotas_save(*, user, period: str, period_start, amounts: dict) -> int:
    """Set the quotas of one period: `amounts` maps rep ids to an amount, or None to remove the
    rep's quota. Only reps `user` may set quotas for; one transaction. Returns how many changed."""
    allowed = set(quota_reps(user=user).filter(pk__in=list(amounts)).values_list("pk", flat=True))
    if set(amounts) - allowed:
        raise PermissionDenied
    existing = {q.user_id: q for q in Quota.objects.select_for_update().filter(period=period, period_start=period_start, user_id__in=allowed)}
    changed = 0
    for rep_id, amount in amounts.items():
        quota = existing.get(rep_id)
        if amount is None:
            if quota is not None:
                quota.delete()
                changed += 1
        elif quota is None:
            quota = Quota(user_id=rep_id, period=period, period_start=period_start, amount=amount)
            quota.full_clean()
            quota.save()
            changed += 1
        elif quota.amount != amount:
            quota.amount = amount
            quota.save(update_fields=["amount"])
            changed += 1
    return changed


def quotas_copy_previous(*, user, period: str, period_start) -> int:
    """Give every rep of `user` without a quota in this period the quota of the period before.
    Quotas already set stay. Returns how many were copied."""
    reps = list(quota_reps(user=user).values_list("pk", flat=True))
    before = previous_period_start(period=period, start=period_start)
    taken = set(Quota.objects.filter(period=period, period_start=period_start, user_id__in=reps).values_list("user_id", flat=True))
    amounts = dict(
        Quota.objects.filter(period=period, period_start=before, user_id__in=reps).exclude(user_id__in=taken)
        .values_list("user_id", "amount")
    )
    return quotas_save(user=user, period=period, period_start=period_start, amounts=amounts) if amounts else 0
