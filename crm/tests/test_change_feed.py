"""The change feed (/api/v1/changes/) for every kind it lists, every path that changes what
the API shows of a record, and each role's view of it. The feed's paging and the people's basic
entries are in test_api.py."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse

from conftest import make_user
from contacts.models import Employment, ImportJob, OrganizationAddress, Person
from contacts.services import importing
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory, TagFactory
from crm import privacy, webhooks
from crm.models import ChangeEvent, WebhookEndpoint, WebhookEvent
from crm.roles import Role
from crm.tests.api_client import call, token_for
from crm.tests.processes import require_postgres
from sales import services as sales
from sales.models import Lead
from sales.tests.factories import DealFactory, LeadFactory
from service import services as service
from service.tests.factories import TeamFactory


def entries(since: int = 0, **filters) -> list[tuple]:
    return list(
        ChangeEvent.objects.filter(pk__gt=since, **filters).order_by("pk").values_list("kind", "object_id", "action", "reason")
    )


def last_id() -> int:
    event = ChangeEvent.objects.order_by("pk").last()
    return event.pk if event else 0


def feed(client, user, since: int = 0, kind: str = "") -> list[tuple]:
    url = f"/api/v1/changes/?since={since}&limit=1000" + (f"&kind={kind}" if kind else "")
    response = call(client, "get", url, token=token_for(user, scope="read"))
    assert response.status_code == 200, response.content
    return [(e["kind"], e["object_id"], e["action"], e["reason"]) for e in response.json()["results"]]


@pytest.fixture
def listening(db, settings):
    """An endpoint subscribed to every person and organization event (nothing is delivered here:
    the outbox rows show what would be sent)."""
    settings.CRM_WEBHOOK_ALLOW_LOOPBACK = True
    types = [t for t in webhooks.EVENT_TYPES if t.startswith(("person.", "organization."))]
    webhooks.endpoint_save(WebhookEndpoint(url="http://127.0.0.1:9/hook", event_types=types))


# --- leads, deals and tickets ---------------------------------------------------------------


def test_leads_are_created_updated_converted_and_deleted(admin_user):
    lead = sales.lead_capture(first_name="Lea", last_name="Neu", email="lea@example.com", source="web_form", owner=admin_user)
    start = last_id()
    sales.lead_capture(first_name="Lea", last_name="Neu", email="lea@example.com", source="web_form", note="again")
    sales.lead_convert(lead=lead, user=admin_user)
    lead.refresh_from_db()
    assert entries(kind="lead")[0] == ("lead", lead.pk, "created", "")
    assert entries(start, kind="lead") == [("lead", lead.pk, "updated", ""), ("lead", lead.pk, "updated", "converted")]
    # What the lead became appears as created records of their own.
    assert ("person", lead.converted_person_id, "created", "") in entries(start)
    lead_id = lead.pk
    lead.delete()
    assert entries(kind="lead")[-1] == ("lead", lead_id, "deleted", "")


def test_leads_of_a_csv_import_and_a_reassignment_appear(admin_user, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("leads.csv", b"last_name,email\nImport,import@example.com\n", content_type="text/csv")
    info = importing.inspect_upload(upload, name=upload.name, size=upload.size)
    job = importing.import_create(target=ImportJob.Target.LEADS, upload=upload, info=info, user=admin_user)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    importing.import_run(job=job)
    job.refresh_from_db()
    assert (job.created_count, job.errors) == (1, [])
    lead = Lead.objects.get(email="import@example.com")
    assert entries(kind="lead") == [("lead", lead.pk, "created", "")]
    sales.leads_reassign(lead_ids=[lead.pk], new_owner=alice, user=admin_user)
    assert entries(kind="lead")[-1] == ("lead", lead.pk, "updated", "")


def test_deals_are_created_moved_reassigned_and_deleted(admin_user, alice):
    deal = DealFactory(owner=admin_user)
    stages = list(deal.pipeline.stages.order_by("order"))
    start = last_id()
    sales.deal_move(deal=deal, stage=stages[1], user=admin_user)
    sales.deals_reassign(deal_ids=[deal.pk], new_owner=alice, user=admin_user)
    assert entries(kind="deal")[0] == ("deal", deal.pk, "created", "")
    assert entries(start, kind="deal") == [("deal", deal.pk, "updated", "")] * 2
    deal_id = deal.pk
    deal.delete()
    assert entries(kind="deal")[-1] == ("deal", deal_id, "deleted", "")


def test_tickets_are_created_updated_with_tags_as_one_change_and_deleted(admin_user):
    ticket = service.ticket_create(subject="Drucker", description="geht nicht", person=PersonFactory(), assignee=admin_user)
    assert entries(kind="ticket") == [("ticket", ticket.pk, "created", "")]
    start = last_id()
    ticket.refresh_from_db()
    service.ticket_update(ticket_id=ticket.pk, version=ticket.version, changes={"subject": "Drucker defekt",
                          "tags": [TagFactory(name="Hardware")]}, user=admin_user)
    assert entries(start, kind="ticket") == [("ticket", ticket.pk, "updated", "")]  # the save and the tags: one entry
    ticket.tags.add(TagFactory(name="Dringend"))  # a tag added on its own
    assert entries(start, kind="ticket")[-1] == ("ticket", ticket.pk, "updated", "")
    ticket_id = ticket.pk
    ticket.delete()
    assert entries(kind="ticket")[-1] == ("ticket", ticket_id, "deleted", "")


def test_an_erasure_updates_the_persons_leads_and_tickets_and_ends_with_the_deletion(admin_user):
    person = PersonFactory(email="weg@example.com", last_name="Geheim")
    person.tags.add(TagFactory(name="VIP"))
    lead = LeadFactory(email="weg@example.com", owner=admin_user)
    ticket = service.ticket_create(subject="Geheim", description="", person=person, assignee=admin_user)
    start = last_id()
    privacy.erase_person(person, by=admin_user)
    changes = entries(start)
    assert ("lead", lead.pk, "updated", "") in changes and ("ticket", ticket.pk, "updated", "") in changes
    mine = [entry for entry in changes if entry[:2] == ("person", person.pk)]
    assert mine[-1] == ("person", person.pk, "deleted", "erased")
    assert ("person", person.pk, "updated", "") not in mine[mine.index(("person", person.pk, "deleted", "erased")):]


# --- employments, addresses and tags changed outside a save of the record --------------------


def test_an_employment_added_or_removed_elsewhere_updates_the_person(db):
    person, org = PersonFactory(), OrganizationFactory()
    start = last_id()
    employment = Employment.objects.create(person=person, organization=org, position="Einkauf")
    assert entries(start) == [("person", person.pk, "updated", "")]
    start = last_id()
    employment.delete()
    assert entries(start) == [("person", person.pk, "updated", "")]


def test_deleting_a_person_reports_the_deletion_only_and_an_organizations_deletion_updates_its_people(db):
    person, org = PersonFactory(), OrganizationFactory()
    EmploymentFactory(person=person, organization=org)
    colleague = PersonFactory()
    EmploymentFactory(person=colleague, organization=org, is_primary=False)
    start = last_id()
    person_id = person.pk
    person.delete()
    assert entries(start) == [("person", person_id, "deleted", "")]  # not also "updated" by its employment
    start = last_id()
    org_id = org.pk
    org.delete()
    assert ("person", colleague.pk, "updated", "") in entries(start)
    assert ("organization", org_id, "deleted", "") in entries(start)


def test_tags_added_from_either_side_cleared_or_deleted_update_the_records(db):
    people = PersonFactory.create_batch(2)
    org = OrganizationFactory()
    tag = TagFactory(name="Messe 2026")
    start = last_id()
    people[0].tags.add(tag)  # the person's tags
    assert entries(start) == [("person", people[0].pk, "updated", "")]
    start = last_id()
    tag.people.add(*people)  # a list page's bulk action: the tag's people
    assert entries(start) == [("person", people[1].pk, "updated", "")]  # people[0] had it already
    start = last_id()
    tag.people.clear()
    assert sorted(entries(start)) == sorted(("person", p.pk, "updated", "") for p in people)
    org.tags.add(tag)
    people[1].tags.add(tag)
    start = last_id()
    tag.delete()
    assert sorted(entries(start)) == sorted([("organization", org.pk, "updated", ""), ("person", people[1].pk, "updated", "")])


def test_an_address_added_to_an_organization_updates_it(db):
    org = OrganizationFactory()
    start = last_id()
    OrganizationAddress.objects.create(organization=org, street="Hauptstr. 1", postal_code="24103", city="Kiel")
    assert entries(start) == [("organization", org.pk, "updated", "")]


# --- a record saved with its rows: one entry, a webhook that shows the rows ------------------


def test_the_edit_page_saves_person_employments_and_tags_as_one_change(alice, client_for, listening):
    person = PersonFactory(first_name="Max", last_name="Mustermann", owner=alice)
    org, tag = OrganizationFactory(name="Müller GmbH"), TagFactory(name="Kunde")
    start, events = last_id(), WebhookEvent.objects.count()
    data = {
        "salutation": "mr", "academic_title": "", "first_name": "Max", "last_name": "Mustermann", "email": "",
        "country": "DE", "preferred_language": "de", "lifecycle_stage": "lead", "source": "website",
        "owner": alice.pk, "tags": [tag.pk], "version": person.updated_at.isoformat(),
        "rows-TOTAL_FORMS": "1", "rows-INITIAL_FORMS": "0", "rows-0-organization": str(org.pk),
        "rows-0-position": "Einkauf", "rows-0-is_primary": "on",
    }
    response = client_for(alice).post(reverse("contacts:person_update", args=[person.pk]), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    assert entries(start) == [("person", person.pk, "updated", "")]
    sent = list(WebhookEvent.objects.order_by("pk")[events:])
    assert [e.event_type for e in sent] == ["person.updated"]
    payload = sent[0].payload["data"]
    assert [(e["organization_name"], e["position"]) for e in payload["employments"]] == [("Müller GmbH", "Einkauf")]
    assert payload["tags"] == [tag.pk]


def test_an_api_write_with_employments_is_one_change_whose_webhook_shows_them(client, alice, write_token, listening):
    org = OrganizationFactory(name="Acme AG")
    start, events = last_id(), WebhookEvent.objects.count()
    response = call(client, "post", "/api/v1/people/", {"last_name": "Neu", "owner": alice.pk,
                    "employments": [{"organization": org.pk, "position": "CTO"}]}, token=write_token)
    assert response.status_code == 201, response.content
    person_id = response.json()["id"]
    assert entries(start) == [("person", person_id, "created", "")]
    created = WebhookEvent.objects.order_by("pk")[events:].get()
    assert created.event_type == "person.created"
    assert [e["organization_name"] for e in created.payload["data"]["employments"]] == ["Acme AG"]


def test_an_employment_added_on_its_own_sends_the_person_as_it_is_now(listening):
    person, org = PersonFactory(), OrganizationFactory(name="Beta KG")
    events = WebhookEvent.objects.count()
    Employment.objects.create(person=Person.objects.get(pk=person.pk), organization=org)
    sent = WebhookEvent.objects.order_by("pk")[events:].get()
    assert sent.event_type == "person.updated"
    assert [e["organization_name"] for e in sent.payload["data"]["employments"]] == ["Beta KG"]


# --- who sees what ---------------------------------------------------------------------------


def test_each_role_sees_the_entries_of_what_it_may_see(client, alice, bob, manager, charlie, admin_user):
    support_agent = make_user("agent", Role.SUPPORT_AGENT)
    TeamFactory(name="Support").agents.add(support_agent)
    lead = LeadFactory(owner=alice)
    deal = DealFactory(owner=alice)
    foreign_deal = DealFactory(owner=charlie)
    ticket = service.ticket_create(subject="Frage", description="", person=PersonFactory(owner=charlie), assignee=support_agent)
    gone = LeadFactory(owner=charlie)
    gone_id = gone.pk
    gone.delete()

    admin = feed(client, admin_user)
    assert {("lead", lead.pk), ("deal", deal.pk), ("deal", foreign_deal.pk), ("ticket", ticket.pk)} <= {e[:2] for e in admin}

    # alice (a rep) and bob (her teammate) see alice's lead and deal, not charlie's deal.
    for user in (alice, bob):
        seen = {e[:2] for e in feed(client, user)}
        assert ("lead", lead.pk) in seen and ("deal", deal.pk) in seen
        assert ("deal", foreign_deal.pk) not in seen and ("ticket", ticket.pk) not in seen
    # charlie sees his deal, not alice's; a deletion of a lead is listed for whoever sees leads (no data).
    charlie_sees = feed(client, charlie)
    assert ("deal", foreign_deal.pk) in {e[:2] for e in charlie_sees} and ("deal", deal.pk) not in {e[:2] for e in charlie_sees}
    assert ("lead", gone_id, "deleted", "") in charlie_sees and ("lead", gone_id, "deleted", "") in feed(client, alice)
    # The support agent sees the ticket assigned to them, and no leads or deals at all.
    agent_sees = feed(client, support_agent)
    assert ("ticket", ticket.pk) in {e[:2] for e in agent_sees}
    assert not {e[0] for e in agent_sees} & {"lead", "deal"}
    # The kind filter narrows the same view.
    assert {e[0] for e in feed(client, admin_user, kind="ticket")} == {"ticket"}


def test_the_feed_shows_entries_as_the_serializer_describes_them(client, admin_user):
    from rest_framework.test import APIRequestFactory

    from crm.api.serializers import ChangeEventSerializer

    person, lead = PersonFactory(), LeadFactory(owner=admin_user)
    gone = PersonFactory()
    gone.delete()
    response = call(client, "get", "/api/v1/changes/", token=token_for(admin_user, scope="read"))
    request = APIRequestFactory().get("/api/v1/changes/")
    expected = ChangeEventSerializer(ChangeEvent.objects.order_by("pk"), many=True, context={"request": request}).data
    assert response.json()["results"] == [dict(entry) for entry in expected]
    urls = {(e["kind"], e["object_id"]): e["url"] for e in response.json()["results"]}
    assert urls[("person", person.pk)].endswith(f"/api/v1/people/{person.pk}/")
    assert urls[("lead", lead.pk)].endswith(f"/api/v1/leads/{lead.pk}/")


# --- commit order: an entry committed after a later id was read is not skipped -----------------


def _page(client, token, since: int) -> dict:
    response = call(client, "get", f"/api/v1/changes/?since={since}&limit=1000&kind=person", token=token)
    assert response.status_code == 200, response.content
    return response.json()


def _created_people(*pages) -> list[int]:
    return [e["object_id"] for page in pages for e in page["results"] if e["action"] == "created"]


class _SlowWriter(threading.Thread):
    """Creates a person in a transaction of its own and keeps it open until told to commit."""

    def __init__(self):
        super().__init__(daemon=True)
        self.inserted, self.release, self.person_id = threading.Event(), threading.Event(), None

    def run(self):
        try:
            with transaction.atomic():
                self.person_id = PersonFactory(last_name="Langsam").pk
                self.inserted.set()
                assert self.release.wait(30)
        finally:
            connection.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("fast_began_first", [False, True], ids=["slow-began-first", "fast-began-first"])
def test_an_entry_committed_after_a_later_one_was_read_is_not_skipped(client, admin_user, fast_began_first):
    """Postgres hands out ids at insert, not at commit: the slow transaction holds id n while
    id n+1 commits and is read. A feed that went by ids alone moved its cursor past n for good."""
    require_postgres("two transactions at once")
    token = token_for(admin_user, scope="read")
    since = _page(client, token, 0)["since"]
    slow = _SlowWriter()
    try:
        with transaction.atomic():
            if fast_began_first:  # the fast transaction has the older transaction id
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")
            slow.start()
            assert slow.inserted.wait(30)
            fast_id = PersonFactory(last_name="Schnell").pk
        assert fast_id > slow.person_id
        first = _page(client, token, since)
        assert slow.person_id not in _created_people(first)
    finally:
        slow.release.set()
        slow.join(30)
    second = _page(client, token, first["since"])
    assert sorted(_created_people(first, second)) == sorted([slow.person_id, fast_id])
