"""Demo and benchmark data for sales: pipelines "Neugeschäft" and "Verlängerungen", products, a
price list, territories, quotas, monthly exchange rates, leads and about three deals per person
(about one in ten in CHF, USD or GBP), written in bulk (crm.bulk), 10,000 deals per transaction.
Small data sets also get contact people, line items (the deal's amount is their total) and their
history records."""

import random
import time
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from contacts.models import Employment, Organization
from crm import bulk
from crm.money import company_currency
from crm.roles import Role
from crm.seeding import Seeder, moment_this_month, register
from sales import automation, services
from sales.models import (
    AutomationRule,
    Deal,
    DealContact,
    ExchangeRate,
    Lead,
    LineItem,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Quota,
    Stage,
    StageChange,
    Territory,
    TerritoryRule,
)

DEALS_PER_PERSON = 3
# The large benchmark set has 1,000,000 people but 300,000 deals (a company's people outnumber its deals).
MAX_DEALS = 300_000
BATCH = 10_000
DETAIL_LIMIT = 3_000  # deals up to this number get contact people, line items and history

PIPELINES = {
    "Neugeschäft": [
        ("Qualifizierung", 10, False, False),
        ("Bedarfsanalyse", 25, False, False),
        ("Angebot", 50, False, False),
        ("Verhandlung", 75, False, False),
        ("Gewonnen", 100, True, False),
        ("Verloren", 0, False, True),
    ],
    "Verlängerungen": [
        ("Verlängerung fällig", 60, False, False),
        ("Angebot versendet", 80, False, False),
        ("Gewonnen", 100, True, False),
        ("Verloren", 0, False, True),
    ],
}
PRODUCTS = [
    ("CRM Cloud Basis (Jahreslizenz)", "CRM-BAS", "1200.00"),
    ("CRM Cloud Professional (Jahreslizenz)", "CRM-PRO", "3600.00"),
    ("CRM Cloud Enterprise (Jahreslizenz)", "CRM-ENT", "9800.00"),
    ("Einführungsworkshop (Tag)", "SRV-WS", "1450.00"),
    ("Datenmigration", "SRV-MIG", "4900.00"),
    ("Schnittstelle SAP", "INT-SAP", "7500.00"),
    ("Schnittstelle DATEV", "INT-DATEV", "3200.00"),
    ("Premium-Support (Jahr)", "SUP-PREM", "2400.00"),
    ("Anwenderschulung (Tag)", "SRV-SCH", "980.00"),
    ("Wartungsvertrag (Jahr)", "SUP-WART", "1800.00"),
]
TERRITORIES = [
    ("Nord", [("DE", "20000", "29999"), ("DE", "17000", "19999")]),
    ("Ost", [("DE", "01000", "16999"), ("DE", "39000", "39999"), ("DE", "98000", "99999")]),
    ("West", [("DE", "40000", "59999")]),
    ("Süd", [("DE", "60000", "97999")]),
    ("DACH-Ausland", [("AT", "", ""), ("CH", "", "")]),
]
DEAL_TOPICS = [
    "Rahmenvertrag", "CRM-Einführung", "Lizenzerweiterung", "Migration", "Pilotprojekt", "Schnittstelle",
    "Schulungspaket", "Supportvertrag", "Standortausbau", "Modernisierung",
]
COMPETITORS = ["", "", "", "Salesforce", "HubSpot", "Microsoft Dynamics", "SAP CX", "Pipedrive"]
NEXT_STEPS = ["", "Angebot nachfassen", "Termin mit Geschäftsführung", "Demo vereinbaren", "Vertragsentwurf senden", "Budget klären"]


def _pipelines():
    made = {}
    for position, (name, stages) in enumerate(PIPELINES.items()):
        pipeline, _created = Pipeline.objects.get_or_create(
            name=name, defaults={"position": position, "stale_after_days": 21 if position == 0 else 45}
        )
        for order, (stage_name, probability, won, lost) in enumerate(stages):
            Stage.objects.get_or_create(
                pipeline=pipeline, name=stage_name,
                defaults={"order": order, "probability": probability, "is_won": won, "is_lost": lost},
            )
        made[name] = (pipeline, list(pipeline.stages.order_by("order")))
    return made


def _catalogue():
    products = []
    for name, sku, price in PRODUCTS:
        product, _created = Product.objects.get_or_create(sku=sku, defaults={"name": name, "unit_price": Decimal(price)})
        products.append(product)
    price_list, created = PriceList.objects.get_or_create(name="Partnerpreise 2027")
    if created:
        PriceListItem.objects.bulk_create(
            [PriceListItem(price_list=price_list, product=p, unit_price=(p.unit_price * Decimal("0.85")).quantize(Decimal("0.01"))) for p in products]
        )
    return products


def _territories(reps, managers):
    for priority, (name, rules) in enumerate(TERRITORIES):
        territory, created = Territory.objects.get_or_create(name=name, defaults={"priority": priority * 10})
        if created:
            territory.manager = managers[0] if managers else None
            territory.save(update_fields=["manager"])
            for country, low, high in rules:
                TerritoryRule.objects.create(territory=territory, country=country, postal_code_from=low, postal_code_to=high)
            if reps:
                territory.reps.add(*[reps[(priority + i) % len(reps)] for i in range(min(2, len(reps)))])
    return list(Territory.objects.all())


# Foreign deals of the demo: (currency, share of the deals, rate into EUR two years ago).
FOREIGN_CURRENCIES = [("CHF", 0.06, Decimal("0.95")), ("USD", 0.03, Decimal("0.91")), ("GBP", 0.02, Decimal("1.15"))]
RATE_MONTHS = 26  # back to before the oldest demo deal closed (540 + 120 days)


def _exchange_rates(today, rng):
    """A rate on the first of each month for RATE_MONTHS months, drifting a little, so that every
    demo deal converts (sales.money: the rate of its close date)."""
    month = today.replace(day=1)
    firsts = []
    for _i in range(RATE_MONTHS):
        firsts.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    rows = []
    for currency, _share, start in FOREIGN_CURRENCIES:
        if currency == company_currency():
            continue
        rate = start
        for first in reversed(firsts):
            rate = (rate * (Decimal("1") + Decimal(rng.randint(-15, 18)) / 1000)).quantize(Decimal("0.0001"))
            rows.append(ExchangeRate(currency=currency, rate=rate, valid_from=first))
    ExchangeRate.objects.bulk_create(rows, ignore_conflicts=True)


def _currency(rng) -> str:
    roll = rng.random()
    for currency, share, _start in FOREIGN_CURRENCIES:
        if roll < share:
            return currency
        roll -= share
    return company_currency()


def _quotas(reps, today):
    month = today.replace(day=1)
    rows = []
    for rep in reps:
        for offset in range(-3, 4):
            index = month.month - 1 + offset
            start = month.replace(year=month.year + index // 12, month=index % 12 + 1)
            rows.append(Quota(user=rep, period=Quota.Period.MONTH, period_start=start, amount=Decimal("60000")))
        quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
        rows.append(Quota(user=rep, period=Quota.Period.QUARTER, period_start=quarter, amount=Decimal("180000")))
    Quota.objects.bulk_create(rows, ignore_conflicts=True)


def _rules(pipelines):
    if AutomationRule.objects.exists():
        return
    _pipeline, stages = pipelines["Neugeschäft"]
    offer = next(s for s in stages if s.name == "Angebot")
    AutomationRule.objects.create(
        name="Angebot nachfassen", trigger=AutomationRule.Trigger.DEAL_STAGE, stage=offer,
        action=AutomationRule.Action.CREATE_TASK, task_subject="Angebot telefonisch nachfassen", task_due_days=3,
    )
    AutomationRule.objects.create(
        name="Qualifizierte Leads melden", trigger=AutomationRule.Trigger.LEAD_STATUS, lead_status=Lead.Status.QUALIFIED,
        action=AutomationRule.Action.NOTIFY_OWNER, task_subject="Neuer qualifizierter Lead",
    )


def seed_sales(*, scale: int, users: dict, faker, log) -> None:
    started = time.perf_counter()
    rng = random.Random(scale + 7)
    reps = list(users.get(Role.SALES_REP, []))
    managers = list(users.get(Role.SALES_MANAGER, []))
    owners = reps * 5 + managers or list(users.get(Role.ADMIN, []))
    pipelines = _pipelines()
    products = _catalogue()
    territories = _territories(reps, managers)
    today = timezone.localdate()
    _quotas(reps, today)
    _rules(pipelines)
    # Own generators: the other demo data stays what it was without foreign currencies.
    _exchange_rates(today, random.Random(scale + 11))
    currency_rng = random.Random(scale + 13)
    company = company_currency()

    org_ids = list(Organization.objects.values_list("pk", flat=True))
    total = min(scale * DEALS_PER_PERSON, MAX_DEALS)
    log(f"Sales: {total:,} deals for {len(org_ids):,} organizations ...")
    now = timezone.now()
    tz = timezone.get_current_timezone()
    pipeline_choices = [pipelines["Neugeschäft"]] * 3 + [pipelines["Verlängerungen"]]
    detail = total <= DETAIL_LIMIT
    made = 0
    while made < total:
        count = min(BATCH, total - made)
        deals, changes = [], []
        for _i in range(count):
            pipeline, stages = rng.choice(pipeline_choices)
            open_stages = [s for s in stages if not s.is_closed]
            roll = rng.random()
            created_at = now - timedelta(days=rng.randint(1, 540), minutes=rng.randint(0, 1440))
            amount = Decimal(rng.choice([2, 5, 8, 12, 18, 25, 40, 60, 90, 150]) * 1000 + rng.randint(0, 99) * 10)
            currency = _currency(currency_rng)
            if roll < 0.35:
                stage = rng.choice(open_stages)
                status, closed_at = Deal.Status.OPEN, None
                entered = created_at + (now - created_at) * rng.random()
                close_date = today + timedelta(days=rng.randint(-20, 150))
            else:
                stage = next(s for s in stages if (s.is_won if roll < 0.75 else s.is_lost))
                status = Deal.Status.WON if stage.is_won else Deal.Status.LOST
                closed_at = created_at + timedelta(days=rng.randint(5, 120))
                if closed_at >= now:  # closed recently; a quarter of those in the month so far, however young
                    recent = moment_this_month(now, rng) if rng.random() < 0.25 else created_at + (now - created_at) * rng.random()
                    closed_at = max(created_at, recent)
                entered = closed_at
                close_date = closed_at.astimezone(tz).date()
            last_activity = entered + (now - entered) * rng.random() * 0.5 if status == Deal.Status.OPEN else closed_at
            deal = Deal(
                name=f"{rng.choice(DEAL_TOPICS)} {faker.last_name() if rng.random() < 0.3 else created_at.year}",
                pipeline=pipeline, stage=stage, organization_id=rng.choice(org_ids) if org_ids else None,
                owner_id=rng.choice(owners).pk if owners else None,
                territory=rng.choice(territories) if territories and rng.random() < 0.7 else None,
                amount=amount, currency=currency, converted_amount=amount if currency == company else None,
                expected_close_date=close_date,
                probability=stage.probability, status=status, closed_at=closed_at,
                lost_reason=rng.choice(Deal.LostReason.values) if status == Deal.Status.LOST else "",
                forecast_category=rng.choice(["pipeline", "pipeline", "best_case", "commit"]) if status == Deal.Status.OPEN else "pipeline",
                next_step=rng.choice(NEXT_STEPS), competitor=rng.choice(COMPETITORS),
                source=rng.choice(Lead.Source.values), stage_entered_at=entered, last_activity_at=last_activity,
                created_at=created_at, updated_at=last_activity,
            )
            deal.refresh_search_key()
            deals.append(deal)
        with transaction.atomic():
            bulk.insert_objects(Deal, deals)
            for deal in deals:
                first_stage = pipelines[deal.pipeline.name][1][0]
                if deal.stage_id != first_stage.pk:
                    changes.append(StageChange(deal_id=deal.pk, to_stage=first_stage, changed_at=deal.created_at, left_at=deal.stage_entered_at))
                    changes.append(StageChange(deal_id=deal.pk, from_stage=first_stage, to_stage=deal.stage, changed_at=deal.stage_entered_at))
                else:
                    changes.append(StageChange(deal_id=deal.pk, to_stage=deal.stage, changed_at=deal.created_at))
            bulk.insert_objects(StageChange, changes)
            if detail:
                _details(deals, products, rng)
        made += count
        log(f"  {made:,} deals ({time.perf_counter() - started:.0f} s)")
    # Bulk inserts skip Deal.save(): the foreign deals get their amount in EUR here, in one UPDATE.
    services.deals_convert(currencies=[currency for currency, _share, _start in FOREIGN_CURRENCIES])
    _leads(scale=scale, faker=faker, rng=rng, owners=owners, now=now)
    # The overdue demo tasks (contacts seeds them) were reminded of when they fell due, not all
    # at once when beat starts.
    automation.reminders_mark_sent(now=now)
    log(f"Sales data ready in {time.perf_counter() - started:.1f} s.")


def _details(deals, products, rng):
    """Contact people, line items and history records for a small data set."""
    people_by_org: dict[int, list[int]] = {}
    for person_id, org_id in Employment.objects.filter(organization_id__in={d.organization_id for d in deals}).values_list(
        "person_id", "organization_id"
    ):
        people_by_org.setdefault(org_id, []).append(person_id)
    contacts, items = [], []
    for deal in deals:
        for person_id in people_by_org.get(deal.organization_id, [])[:2]:
            contacts.append(DealContact(deal_id=deal.pk, person_id=person_id, role=rng.choice(DealContact.Role.values)))
        if rng.random() < 0.5:
            product = rng.choice(products)
            item = LineItem(deal_id=deal.pk, product=product, quantity=Decimal(rng.randint(1, 5)), unit_price=product.unit_price)
            item.total = item.compute_total()
            if deal.currency == product.currency:  # list prices are in EUR: foreign deals keep a typed amount
                items.append(item)
                # A deal with line items is worth their total (Deal.amount_from_line_items).
                deal.amount = deal.converted_amount = item.total
    DealContact.objects.bulk_create(contacts, ignore_conflicts=True)
    LineItem.objects.bulk_create(items)
    with_items = {item.deal_id for item in items}
    Deal.objects.bulk_update(
        [deal for deal in deals if deal.pk in with_items], ["amount", "converted_amount"], batch_size=1000
    )
    for deal in deals:
        deal._history_date = deal.created_at
    Deal.history.bulk_history_create(deals)


def _leads(*, scale, faker, rng, owners, now):
    count = max(20, scale // 10)
    leads = []
    for index in range(count):
        first, last = faker.first_name(), faker.last_name()
        status = rng.choice([Lead.Status.NEW] * 4 + [Lead.Status.CONTACTED] * 3 + [Lead.Status.QUALIFIED] * 2 + [Lead.Status.DISQUALIFIED])
        lead = Lead(
            first_name=first, last_name=last, email=f"{first}.{last}.{index}@example.org".lower().replace(" ", ""),
            company=faker.company(), city=faker.city(), postal_code=faker.postcode(), source=rng.choice(Lead.Source.values),
            status=status, disqualify_reason=rng.choice(Lead.DisqualifyReason.values) if status == Lead.Status.DISQUALIFIED else "",
            rating=rng.choice(Lead.Rating.values), owner_id=rng.choice(owners).pk if owners else None,
            campaign_code=rng.choice(["", "", "messe-hannover-2027", "newsletter-fruehjahr", "webinar-crm"]),
            created_at=now - timedelta(days=rng.randint(0, 120)), updated_at=now,
        )
        lead.refresh_search_key()
        leads.append(lead)
    # bulk_create: the JSON column (utm) is not one crm.bulk's COPY converts.
    with transaction.atomic():
        Lead.objects.bulk_create(leads, batch_size=2_000)


register(Seeder("sales", seed_sales, order=20, has_data=lambda: Deal.objects.exists()))
