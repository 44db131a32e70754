"""SLA timers on tickets, warnings before and escalation after a breach, once per stage."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm.models import OutgoingEmail
from service import services, tasks
from service.models import CustomerTier, Escalation, Ticket
from service.tests.factories import SLAPolicyFactory, TicketFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)


def test_a_new_ticket_gets_due_times_in_business_hours(support):
    SLAPolicyFactory(first_response_hours=4, resolution_hours=16)
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(), category=support["billing"], now=MONDAY_10)
    assert ticket.first_response_due == datetime(2026, 11, 23, 14, 0, tzinfo=BERLIN)
    assert ticket.resolution_due == datetime(2026, 11, 24, 17, 0, tzinfo=BERLIN)  # 7 h Monday + 9 h Tuesday


def test_vip_customers_get_higher_priority_and_the_stricter_policy(support):
    SLAPolicyFactory(priority="high", tier="standard", first_response_hours=4, resolution_hours=16)
    SLAPolicyFactory(priority="high", tier="vip", first_response_hours=1, resolution_hours=4)
    organization = OrganizationFactory()
    CustomerTier.objects.create(organization=organization)
    ticket = services.ticket_create(subject="Ausfall", organization=organization, now=MONDAY_10)
    assert ticket.tier == "vip"
    assert ticket.priority == "high"
    assert ticket.first_response_due == MONDAY_10 + timedelta(hours=1)


def test_revenue_makes_an_organization_vip(settings):
    settings.SERVICE_VIP_REVENUE = 1_000_000
    assert services.customer_tier(organization=OrganizationFactory(annual_revenue=2_000_000)) == "vip"
    assert services.customer_tier(organization=OrganizationFactory(annual_revenue=10_000)) == "standard"


def test_vip_organizations_follow_the_same_rule_in_one_query(settings, django_assert_num_queries):
    from contacts.models import Organization

    settings.SERVICE_VIP_REVENUE = 1_000_000
    rich, flagged = OrganizationFactory(annual_revenue=2_000_000), OrganizationFactory(annual_revenue=10)
    CustomerTier.objects.create(organization=flagged)
    CustomerTier.objects.create(organization=OrganizationFactory(), tier="standard")
    OrganizationFactory(annual_revenue=None)
    with django_assert_num_queries(1):
        vips = set(services.vip_organizations(Organization.objects.all()))
    assert vips == {rich, flagged}
    assert all(services.customer_tier(organization=org) == "vip" for org in vips)


def mails_to() -> list[str]:
    return list(OutgoingEmail.objects.order_by("pk").values_list("to", flat=True))


def test_escalation_warns_then_escalates_once_even_if_beat_runs_twice(support):
    SLAPolicyFactory(first_response_hours=2, resolution_hours=16)
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(), category=support["billing"], now=MONDAY_10)
    assert ticket.assignee == support["anna"]
    # 30 minutes before the first response is due: a warning to the assignee.
    before = ticket.first_response_due - timedelta(minutes=30)
    assert services.sla_escalate(now=before) == 1
    assert services.sla_escalate(now=before) == 0
    assert mails_to() == ["anna@example.com"]
    # After the breach: the lead is told and the priority goes up, once.
    after = ticket.first_response_due + timedelta(minutes=5)
    assert services.sla_escalate(now=after) == 1
    assert services.sla_escalate(now=after) == 0
    ticket.refresh_from_db()
    assert ticket.priority == "high"
    assert mails_to() == ["anna@example.com", "lena@example.com"]
    assert list(ticket.escalations.values_list("stage", flat=True).order_by("stage")) == ["fr_breach", "fr_warning"]


def test_many_escalations_in_one_run_are_one_digest_per_person(support, settings, mailoutbox, django_capture_on_commit_callbacks):
    """The review saw 376 mails in 30 s to one lead: now each person gets one email per run."""
    settings.CRM_EMAIL_DELIVER_RESERVED = True  # the support users have example.com addresses
    now = MONDAY_10 + timedelta(days=3)
    team, anna, ben = support["team"], support["anna"], support["ben"]
    overdue = [TicketFactory(team=team, assignee=anna if i % 3 else ben, subject=f"Heizung {i}") for i in range(30)]
    soon = [TicketFactory(team=team, assignee=anna if i % 2 else ben, subject=f"Drucker {i}") for i in range(6)]
    Ticket.objects.filter(pk__in=[t.pk for t in overdue]).update(
        first_response_due=now - timedelta(hours=2), resolution_due=now + timedelta(days=2))
    Ticket.objects.filter(pk__in=[t.pk for t in soon]).update(
        first_response_due=now + timedelta(minutes=20), resolution_due=now + timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_escalate(now=now) == 36
    assert services.sla_escalate(now=now) == 0

    assert sorted(m.to[0] for m in mailoutbox) == ["anna@example.com", "ben@example.com", "lena@example.com"]
    by_person = {m.to[0]: m for m in mailoutbox}
    lead_mail = by_person["lena@example.com"]
    assert "30" in lead_mail.subject
    assert all(t.number in lead_mail.body for t in overdue) and not any(t.number in lead_mail.body for t in soon)
    assert [t.number in by_person["anna@example.com"].body for t in soon] == [bool(i % 2) for i in range(6)]
    assert [t.number in by_person["ben@example.com"].body for t in soon] == [not i % 2 for i in range(6)]
    assert OutgoingEmail.objects.filter(state=OutgoingEmail.State.SENT).count() == 3


def test_a_stage_already_claimed_is_not_escalated_again(support):
    """Two overlapping beat runs: the second finds the stage's row and does nothing."""
    SLAPolicyFactory(first_response_hours=2, resolution_hours=16)
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(), category=support["billing"], now=MONDAY_10)
    Escalation.objects.create(ticket=ticket, stage=Escalation.Stage.FIRST_RESPONSE_BREACH)
    assert services._claim(ticket, Escalation.Stage.FIRST_RESPONSE_BREACH) is False
    after = ticket.first_response_due + timedelta(minutes=5)
    services.sla_escalate(now=after)
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_answered_and_resolved_tickets_are_not_escalated(support):
    SLAPolicyFactory(first_response_hours=2, resolution_hours=16)
    ticket = services.ticket_create(subject="Rechnung", person=PersonFactory(), category=support["billing"], now=MONDAY_10)
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, user=support["anna"])
    assert services.sla_escalate(now=MONDAY_10 + timedelta(days=30)) == 0


def test_the_beat_task_runs_the_escalation(support):
    SLAPolicyFactory(first_response_hours=2, resolution_hours=16)
    services.ticket_create(subject="Alt", person=PersonFactory(), now=datetime(2020, 1, 6, 10, 0, tzinfo=BERLIN))
    assert tasks.sla_escalate.delay().get() == 2
    assert tasks.sla_escalate.delay().get() == 0
