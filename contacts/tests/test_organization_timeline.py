"""The organization page's 360° view: what happened with its people too, filterable by kind,
paged, only what the user may see, in a constant number of queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.tests.factories import AppointmentFactory
from contacts.models import Employment
from contacts.tests.factories import ActivityFactory, OrganizationFactory, PersonFactory
from crm.timeline import timeline_for
from marketing.models import Delivery
from marketing.tests.factories import CampaignFactory
from sales.models import DealContact, StageChange
from sales.tests.factories import DealFactory
from service.tests.factories import TicketFactory


@pytest.fixture
def company(db, alice):
    """Müller Maschinenbau; Jürgen works there. His ticket, his appointment, the campaign email he
    got and the deal (of another organization) he is a contact of are all about him only."""
    organization = OrganizationFactory(name="Müller Maschinenbau GmbH", owner=alice)
    juergen = PersonFactory(first_name="Jürgen", last_name="Müller", owner=alice)
    Employment.objects.create(person=juergen, organization=organization)
    stranger = PersonFactory(first_name="Fritz", last_name="Fremd")
    now = timezone.now()
    TicketFactory(subject="Lieferung beschädigt", person=juergen, organization=None)
    TicketFactory(subject="Fremdes Ticket", person=stranger, organization=None)
    AppointmentFactory(person=juergen, start=now - timedelta(days=3),
                       end=now - timedelta(days=3) + timedelta(minutes=30))
    Delivery.objects.create(campaign=CampaignFactory(name="Frühjahrsaktion 2027"), person=juergen,
                            email="j@example.de", status=Delivery.Status.SENT, sent_at=now - timedelta(days=2))
    deal = DealFactory(name="Hallenkran Werk 2", owner=alice)  # another organization's deal
    DealContact.objects.create(deal=deal, person=juergen, role=DealContact.Role.DECISION_MAKER)
    StageChange.objects.create(deal=deal, to_stage=deal.stage, changed_at=now - timedelta(days=1))
    ActivityFactory(person=juergen, subject="Anruf wegen Wartung", created_by=alice)
    return {"organization": organization, "juergen": juergen, "deal": deal}


def _titles(user, organization, **kwargs):
    entries, _next = timeline_for(user=user, organization=organization, **kwargs)
    return " | ".join(e.title for e in entries)


def test_the_organization_timeline_includes_its_peoples_records(company, admin_user):
    titles = _titles(admin_user, company["organization"])
    for expected in ["Lieferung beschädigt", "Frühjahrsaktion 2027", "Hallenkran Werk 2", "Anruf wegen Wartung"]:
        assert expected in titles
    entries, _next = timeline_for(user=admin_user, organization=company["organization"])
    assert {e.kind for e in entries} >= {"ticket", "appointment", "campaign-sent", "deal"}
    assert "Fremdes Ticket" not in titles


def test_only_what_the_user_may_see(company, charlie, alice):
    assert "Hallenkran Werk 2" in _titles(alice, company["organization"])
    assert "Hallenkran Werk 2" not in _titles(charlie, company["organization"])  # alice's deal, not his


def test_the_timeline_filters_by_kind(company, admin_user, client):
    assert _titles(admin_user, company["organization"], kinds={"ticket"}).endswith(" Lieferung beschädigt")
    assert "|" not in _titles(admin_user, company["organization"], kinds={"ticket"})
    without_deals = _titles(admin_user, company["organization"], kinds={"activity", "ticket", "campaign", "appointment"})
    assert "Hallenkran" not in without_deals and "Lieferung beschädigt" in without_deals
    client.force_login(admin_user)
    url = reverse("contacts:organization_detail", args=[company["organization"].pk])
    html = client.get(url, {"kind": "ticket"}).content.decode()
    assert "Lieferung beschädigt" in html and "Hallenkran Werk 2" not in html
    assert 'value="ticket" id="timeline-kind-ticket" checked' in html
    assert 'value="deal" id="timeline-kind-deal">' in html  # unchecked
    partial = client.get(reverse("contacts:timeline"), {"organization": company["organization"].pk, "kind": "deal",
                                                       "part": "list"}).content.decode()
    assert "Hallenkran Werk 2" in partial and "Lieferung beschädigt" not in partial and 'data-testid="timeline-filter"' in partial


def test_show_older_keeps_the_filter(company, admin_user, client):
    from contacts.views.common import TIMELINE_PAGE

    for index in range(TIMELINE_PAGE + 2):
        TicketFactory(subject=f"Ticket {index}", person=company["juergen"], organization=None)
    client.force_login(admin_user)
    url = reverse("contacts:organization_detail", args=[company["organization"].pk])
    html = client.get(url, {"kind": "ticket"}).content.decode()
    assert "kind=ticket&amp;before=" in html
    before = timezone.now() + timedelta(days=1)
    older = client.get(reverse("contacts:timeline"), {"organization": company["organization"].pk, "kind": "ticket",
                                                     "before": before.isoformat()}).content.decode()
    assert "Ticket" in older and "Hallenkran" not in older


def test_the_organization_page_runs_a_constant_number_of_queries(company, admin_user, client, django_assert_max_num_queries):
    client.force_login(admin_user)
    url = reverse("contacts:organization_detail", args=[company["organization"].pk])
    client.get(url)
    with django_assert_max_num_queries(80) as few:
        client.get(url)
    for index in range(5):
        person = PersonFactory(last_name=f"Kollege {index}")
        Employment.objects.create(person=person, organization=company["organization"])
        TicketFactory(person=person, organization=None)
        Delivery.objects.create(campaign=CampaignFactory(), person=person, email=f"k{index}@example.de",
                                status=Delivery.Status.SENT, sent_at=timezone.now())
        deal = DealFactory()
        DealContact.objects.create(deal=deal, person=person, role=DealContact.Role.DECISION_MAKER)
        StageChange.objects.create(deal=deal, to_stage=deal.stage)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert "Kollege 4" in html
