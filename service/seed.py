"""Demo and benchmark data for service: the "Support DACH" and "Support Export" teams with agent
skills, categories, a Bavarian business calendar, SLA policies (standard and VIP), canned replies,
a few showcase tickets made through the services (routed, with messages), and then about five
tickets per person written in bulk (5,000 a transaction) for the large data sets."""

import random
from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from contacts.models import Person
from crm import bulk
from crm.roles import Role
from crm.seeding import Seeder, moment_this_month, register
from crm.text import index_text
from service import services
from service.models import (
    AgentProfile,
    BusinessCalendar,
    CannedReply,
    Category,
    PortalAccess,
    ServiceTeam,
    SLAPolicy,
    Ticket,
    TicketMessage,
)
from service.sla import Calendar

TICKETS_PER_PERSON = 5
# The large benchmark set has 1,000,000 people and 500,000 tickets: only the first people have tickets.
MAX_TICKETS = 500_000
BATCH_SIZE = 5_000
CATEGORIES = ["Rechnung", "Technik", "Lieferung", "Vertrag", "Zugang & Passwort"]
SUBJECTS = {
    "Rechnung": ["Rechnung doppelt erhalten", "Gutschrift fehlt", "Falscher Betrag auf Rechnung", "Mahnung trotz Zahlung"],
    "Technik": ["Drucker meldet Fehler E42", "Software startet nicht", "Schnittstelle liefert keine Daten", "Update schlägt fehl"],
    "Lieferung": ["Lieferung unvollständig", "Paket beschädigt angekommen", "Liefertermin verschoben?", "Falscher Artikel geliefert"],
    "Vertrag": ["Kündigung zum Jahresende", "Vertragsverlängerung", "Adressänderung", "Upgrade auf Premium"],
    "Zugang & Passwort": ["Passwort zurücksetzen", "Zugang gesperrt", "Neuen Benutzer anlegen", "Zwei-Faktor-Anmeldung"],
}
BODIES = [
    "Guten Tag,\n\nbitte prüfen Sie den Vorgang und melden Sie sich kurz zurück.\n\nMit freundlichen Grüßen",
    "Hallo,\n\nseit gestern besteht das Problem weiterhin. Können Sie helfen?\n\nDanke",
    "Sehr geehrte Damen und Herren,\n\nich bitte um schnelle Klärung.\n\nFreundliche Grüße",
]
PRIORITY_WEIGHTS = [("low", 15), ("normal", 60), ("high", 20), ("urgent", 5)]
STATUS_WEIGHTS = [("new", 10), ("open", 25), ("waiting", 10), ("resolved", 25), ("closed", 30)]
SLA_HOURS = {  # (first response, resolution) in business hours
    ("low", "standard"): (16, 72), ("normal", "standard"): (8, 40), ("high", "standard"): (4, 16), ("urgent", "standard"): (1, 8),
    ("low", "vip"): (8, 40), ("normal", "vip"): (4, 16), ("high", "vip"): (2, 8), ("urgent", "vip"): (1, 4),
}


def _weighted(rng, pairs):
    return rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]


def setup(users: dict) -> dict:
    """Teams, skills, calendar, policies and canned replies; made once, found again on re-runs."""
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="Bayern 8–17 Uhr", defaults={"subdivision": "BY", "opens_at": time(8), "closes_at": time(17)}
    )
    leads, agents = users.get(Role.SUPPORT_LEAD, []), users.get(Role.SUPPORT_AGENT, [])
    dach, _ = ServiceTeam.objects.get_or_create(
        name="Support DACH", defaults={"lead": leads[0] if leads else None, "channels": ["email", "portal", "phone"], "calendar": calendar}
    )
    export, _ = ServiceTeam.objects.get_or_create(
        name="Support Export", defaults={"lead": leads[0] if leads else None, "channels": ["web"], "calendar": calendar}
    )
    half = max(1, len(agents) // 2)
    dach.agents.add(*agents[: max(half, len(agents) - 1)] or agents)
    export.agents.add(*agents[half:] or agents)
    categories = {}
    for name in CATEGORIES:
        categories[name], _ = Category.objects.get_or_create(name=name, defaults={"team": export if name == "Lieferung" else dach})
    for index, agent in enumerate(agents):
        profile, created = AgentProfile.objects.get_or_create(
            user=agent, defaults={"languages": ["de", "en"] if index % 2 else ["de"], "capacity": 25,
                                  "works_from": time(7), "works_until": time(19), "products": ["CRM Pro"] if index % 3 == 0 else []}
        )
        if created:
            profile.categories.add(categories[CATEGORIES[index % len(CATEGORIES)]], categories[CATEGORIES[(index + 1) % len(CATEGORIES)]])
    for (priority, tier), (first, resolution) in SLA_HOURS.items():
        SLAPolicy.objects.get_or_create(
            priority=priority, tier=tier,
            defaults={"first_response_hours": first, "resolution_hours": resolution, "calendar": calendar},
        )
    for title, body in [
        ("Eingangsbestätigung", "{salutation},\n\nvielen Dank für Ihre Nachricht zu „{subject}“ ({ticket}). Wir kümmern uns darum.\n\nViele Grüße\n{agent}"),
        ("Rückfrage Details", "{salutation},\n\nkönnen Sie uns bitte eine Kundennummer und einen Screenshot schicken?\n\nViele Grüße\n{agent}"),
        ("Gelöst", "{salutation},\n\nIhr Anliegen {ticket} ist erledigt. Melden Sie sich gern, falls noch etwas offen ist.\n\nViele Grüße\n{agent}"),
    ]:
        CannedReply.objects.get_or_create(title=title, defaults={"body": body})
    return {"calendar": calendar, "teams": [dach, export], "categories": categories}


def showcase(setup_: dict, rng, log) -> None:
    """A few tickets made like real ones: routed, with SLA, replies, a note and a complaint."""
    people = list(Person.objects.exclude(email="").order_by("pk")[:12])
    if not people:
        return
    cats = list(setup_["categories"].values())
    for index, person in enumerate(people):
        category = cats[index % len(cats)]
        ticket = services.ticket_create(
            subject=rng.choice(SUBJECTS[category.name]), description=rng.choice(BODIES), person=person,
            category=category, channel=rng.choice(["email", "portal", "phone"]), from_email=person.email,
            now=timezone.now() - timedelta(hours=rng.randint(1, 60)),
        )
        if index % 3 == 0 and ticket.assignee:
            services.ticket_reply(ticket=ticket, author=ticket.assignee, body="Guten Tag,\n\nwir prüfen das und melden uns.", public=True)
        if index % 4 == 1:
            TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.NOTE, author=ticket.assignee,
                                         body="Intern: Kunde hatte das Problem schon im Mai.")
        if index == 5:
            Ticket.objects.filter(pk=ticket.pk).update(is_complaint=True, complaint_cause="delivery",
                                                       complaint_measures="Ersatzlieferung per Express", complaint_compensation=50)
    PortalAccess.objects.get_or_create(person=people[0], defaults={"sees_organization_tickets": True})
    log(f"  service showcase: {len(people)} tickets with messages; portal access for {people[0].email}")


def _insert(objs: list) -> None:
    """Like crm.bulk.insert_objects, but the search key (which holds the ticket number) is
    computed after the ids are reserved."""
    for obj, pk in zip(objs, bulk.reserve_ids(Ticket, len(objs)), strict=True):
        obj.pk = pk
        obj.search_key = index_text(obj.number, obj.subject)
    bulk.insert_objects(Ticket, objs)  # keeps the reserved ids; converts JSON columns as COPY takes them


def bulk_tickets(setup_: dict, users: dict, rng, log) -> int:
    calendar = Calendar.from_model(setup_["calendar"])
    teams = setup_["teams"]
    agent_ids = {team.pk: list(team.agents.values_list("pk", flat=True)) for team in teams}
    categories = list(setup_["categories"].values())
    now = timezone.now()
    written = 0
    last_pk = 0
    while written < MAX_TICKETS:
        people = list(Person.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE // TICKETS_PER_PERSON])
        if not people:
            break
        last_pk = people[-1]
        batch = []
        for person_id in people:
            for _ in range(rng.randint(TICKETS_PER_PERSON - 2, TICKETS_PER_PERSON + 2)):
                category = rng.choice(categories)
                team = teams[1] if category.name == "Lieferung" else teams[0]
                priority = _weighted(rng, PRIORITY_WEIGHTS)
                status = _weighted(rng, STATUS_WEIGHTS)
                # Open tickets are recent (a queue of tickets overdue for a year tells no story).
                age = 60 * 24 * 14 if status in ("new", "open", "waiting") else 60 * 24 * 540
                created = now - timedelta(minutes=rng.randint(10, age))
                if status in ("new", "open", "waiting") and rng.random() < 0.1:  # in the month so far, however young
                    created = moment_this_month(now, rng)
                first, resolution = SLA_HOURS[(priority, "standard")]
                ticket = Ticket(
                    subject=rng.choice(SUBJECTS[category.name]), description=rng.choice(BODIES), person_id=person_id,
                    channel=rng.choice(["email", "email", "phone", "portal", "web"]), category=category, priority=priority,
                    status=status, team=team, assignee_id=rng.choice(agent_ids[team.pk]) if agent_ids[team.pk] and rng.random() < 0.85 else None,
                    created_at=created,
                    first_response_due=calendar.add_business_hours(created, first),
                    resolution_due=calendar.add_business_hours(created, resolution),
                    routing_explanation=f"Demo-Daten: Team nach Kategorie {category.name}",
                )
                if status != "new":  # never in the future
                    ticket.first_responded_at = min(created + timedelta(hours=rng.randint(1, first + 4)), now)
                if status in ("resolved", "closed"):
                    ticket.resolved_at = min(created + timedelta(hours=rng.randint(2, resolution + 24)), now)
                batch.append(ticket)
        with transaction.atomic():
            _insert(batch)
        written += len(batch)
        if written % 50_000 < len(batch):
            log(f"  tickets: {written:,}")
    return written


def seed_service(*, scale: int, users: dict, faker, log) -> None:
    rng = random.Random(5)
    made = setup(users)
    showcase(made, rng, log)
    if scale > 100:
        count = bulk_tickets(made, users, rng, log)
        log(f"  service: {count:,} tickets in bulk")
    # The open tickets are days old: their warnings and escalations belong to the past, not to
    # hundreds of mails when beat starts.
    log(f"  service: {services.sla_mark_notified():,} SLA warnings and escalations marked as done")


register(Seeder("service", seed_service, order=50, has_data=lambda: Ticket.objects.exists()))
