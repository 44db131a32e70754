"""The agent workspace: queues with constant queries, optimistic locking, access, bulk actions."""

import re

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from service import services
from service.models import CannedReply, Ticket, TicketMessage
from service.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def queue_queries(client, django_assert_max_num_queries, count, team, agent):
    for _ in range(count):
        TicketFactory(team=team, assignee=agent, person=PersonFactory(owner=None))
    client.force_login(agent)
    with django_assert_max_num_queries(12) as captured:
        response = client.get(reverse("service:ticket_list") + "?scope=team")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_queue_runs_a_constant_number_of_queries(client, support, django_assert_max_num_queries):
    few = queue_queries(client, django_assert_max_num_queries, 2, support["team"], support["anna"])
    many = queue_queries(client, django_assert_max_num_queries, 40, support["team"], support["anna"])
    assert few == many


def test_the_queue_is_sorted_by_sla_due_time(client, support):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    later = TicketFactory(team=support["team"], subject="Später fällig", resolution_due=now + timedelta(days=2))
    sooner = TicketFactory(team=support["team"], subject="Bald fällig", resolution_due=now + timedelta(hours=1))
    client.force_login(support["anna"])
    rows = list(client.get(reverse("service:ticket_list") + "?scope=team").context["object_list"])
    assert rows.index(sooner) < rows.index(later)


def test_an_agent_sees_only_the_queues_of_their_teams(client, support):
    mine = TicketFactory(team=support["team"])
    foreign = TicketFactory(team=support["other_team"])
    client.force_login(support["anna"])
    rows = list(client.get(reverse("service:ticket_list") + "?scope=all").context["object_list"])
    assert mine in rows and foreign not in rows
    assert client.get(reverse("service:ticket_detail", args=[foreign.pk])).status_code == 404
    client.force_login(support["outsider"])
    assert client.get(reverse("service:ticket_detail", args=[foreign.pk])).status_code == 200


def test_sales_reads_the_tickets_of_their_customers_only(client, alice, bob, charlie, manager, support):
    ticket = TicketFactory(team=support["team"], person=PersonFactory(owner=alice))
    client.force_login(bob)  # alice's teammate
    assert client.get(reverse("service:ticket_detail", args=[ticket.pk])).status_code == 200
    assert client.get(reverse("service:ticket_update", args=[ticket.pk])).status_code == 403
    client.force_login(charlie)
    assert client.get(reverse("service:ticket_detail", args=[ticket.pk])).status_code == 404


def test_marketing_gets_no_tickets(client, role_users):
    client.force_login(role_users["marketing"])
    assert client.get(reverse("service:ticket_list")).status_code == 403


def edit_data(ticket, **changes):
    data = {
        "subject": ticket.subject, "status": ticket.status, "priority": ticket.priority, "version": ticket.version,
        "complaint_cause": "", "complaint_measures": "", "complaint_compensation": "", "product": "",
        "team": ticket.team_id or "", "assignee": ticket.assignee_id or "", "category": ticket.category_id or "",
    }
    data.update(changes)
    return data


def test_two_agents_saving_the_same_ticket_the_second_is_told(client, support):
    ticket = TicketFactory(team=support["team"], priority="normal")
    opened = edit_data(ticket)  # both open the form at the same version
    client.force_login(support["anna"])
    first = client.post(reverse("service:ticket_update", args=[ticket.pk]), {**opened, "priority": "high"})
    assert first.status_code == 302
    client.force_login(support["ben"])
    second = client.post(reverse("service:ticket_update", args=[ticket.pk]), {**opened, "status": "waiting"})
    assert second.status_code == 409
    assert "Someone else saved this ticket" in second.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == "high" and ticket.status == "open"  # nothing overwritten
    # The form now carries the current version: saving again is a deliberate overwrite.
    again = client.post(reverse("service:ticket_update", args=[ticket.pk]), edit_data(ticket, status="waiting"))
    assert again.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "waiting" and ticket.priority == "high"


def test_the_service_refuses_a_stale_version(support):
    ticket = TicketFactory(team=support["team"])
    services.ticket_update(ticket_id=ticket.pk, version=ticket.version, changes={"subject": "Neu"}, user=support["anna"])
    with pytest.raises(services.TicketConflict):
        services.ticket_update(ticket_id=ticket.pk, version=ticket.version, changes={"subject": "Alt"}, user=support["ben"])


def test_a_ticket_the_user_may_not_see_is_404_on_every_url_of_it(client, alice, charlie, support):
    ticket = TicketFactory(team=support["team"], person=PersonFactory(owner=alice))
    note = TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.CUSTOMER, body="Anbei")
    attachment = services._attach(note, [("rechnung.txt", b"Rechnung", "text/plain")])[0]
    gets = [reverse(name, args=[ticket.pk]) for name in ("service:ticket_detail", "service:ticket_update", "service:ticket_history")]
    gets.append(reverse("service:attachment_download", args=[attachment.pk]))
    posts = [reverse(name, args=[ticket.pk]) for name in ("service:ticket_update", "service:ticket_reply", "service:ticket_merge")]
    # charlie (sales, not alice's team) and otto (an agent of another team) may not see it.
    for user in (charlie, support["outsider"]):
        client.force_login(user)
        assert [client.get(url).status_code for url in gets] == [404] * len(gets), user
        assert [client.post(url, {"body": "x", "other": "1"}).status_code for url in posts] == [404] * len(posts), user
    # alice sees it but may not change it: 403 on changes, the page and the file are hers to read.
    client.force_login(alice)
    assert [client.get(url).status_code for url in gets] == [200, 403, 200, 200]
    assert [client.post(url, {"body": "x", "other": "1"}).status_code for url in posts] == [403] * len(posts)
    assert ticket.messages.count() == 1


def test_a_complaint_needs_a_cause(client, support):
    ticket = TicketFactory(team=support["team"])
    client.force_login(support["anna"])
    response = client.post(reverse("service:ticket_update", args=[ticket.pk]), edit_data(ticket, is_complaint="on"))
    assert response.status_code == 200
    assert "A complaint needs a cause." in response.content.decode()


def test_a_lead_assigns_in_bulk_and_an_agent_may_not_assign_others(client, support):
    tickets = [TicketFactory(team=support["team"], assignee=support["anna"]) for _ in range(2)]
    data = {"tickets": [t.pk for t in tickets], "assignee": support["ben"].pk}
    client.force_login(support["anna"])
    client.post(reverse("service:ticket_bulk"), data)
    assert Ticket.objects.filter(assignee=support["ben"]).count() == 0
    client.force_login(support["lead"])
    client.post(reverse("service:ticket_bulk"), {**data, "priority": "urgent"})
    assert Ticket.objects.filter(assignee=support["ben"], priority="urgent").count() == 2


def test_bulk_actions_skip_tickets_the_user_may_not_change(client, support):
    foreign = TicketFactory(team=support["other_team"])
    client.force_login(support["anna"])
    client.post(reverse("service:ticket_bulk"), {"tickets": [foreign.pk], "status": "closed"})
    foreign.refresh_from_db()
    assert foreign.status == "open"


def test_reply_and_note_from_the_ticket_page(client, support, mailoutbox, django_capture_on_commit_callbacks):
    ticket = TicketFactory(team=support["team"], person=PersonFactory(email="kundin@example.de"))
    client.force_login(support["anna"])
    url = reverse("service:ticket_reply", args=[ticket.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"body": "Wir kümmern uns.", "public": "1", "status": "waiting"})
        client.post(url, {"body": "Intern: VIP!", "public": "0"})
    assert [m.to for m in mailoutbox] == [["kundin@example.de"]]
    ticket.refresh_from_db()
    assert ticket.status == "waiting" and ticket.first_responded_at is not None
    assert ticket.messages.filter(kind=TicketMessage.Kind.NOTE).count() == 1
    assert client.post(url, {"body": "", "public": "1"}).status_code == 422


def test_ticket_page_shows_canned_replies_filled_in_and_the_timeline_link(client, support, django_assert_max_num_queries):
    person = PersonFactory(first_name="Eva", last_name="Roth", salutation="ms")
    ticket = TicketFactory(team=support["team"], person=person)
    CannedReply.objects.create(title="Danke", body="{salutation}, danke für {ticket}.")
    client.force_login(support["anna"])
    response = client.get(reverse("service:ticket_detail", args=[ticket.pk]))
    html = response.content.decode()
    assert f"Sehr geehrte Frau Roth, danke für {ticket.number}." in html
    assert reverse("contacts:timeline") + f"?person={person.pk}" in html


def test_merge_moves_the_messages(client, support):
    survivor, other = TicketFactory(team=support["team"]), TicketFactory(team=support["team"])
    TicketMessage.objects.create(ticket=other, kind="customer", body="Zweite Mail")
    client.force_login(support["anna"])
    client.post(reverse("service:ticket_merge", args=[survivor.pk]), {"other": other.number})
    other.refresh_from_db()
    assert other.merged_into == survivor and other.status == "closed"
    assert survivor.messages.filter(body="Zweite Mail").exists()


def test_resolving_sends_a_survey_whose_links_choose_and_whose_button_records(client, support, mailoutbox,
                                                                               django_capture_on_commit_callbacks):
    ticket = TicketFactory(team=support["team"], assignee=support["anna"], person=PersonFactory(email="k@example.de"))
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(ticket=ticket, status="resolved", user=support["anna"])
    links = dict(line.split(": ", 1) for line in mailoutbox[0].body.splitlines() if re.match(r"^[1-5]: ", line))
    assert sorted(links) == ["1", "2", "3", "4", "5"]
    paths = {n: link.split("8000", 1)[1] for n, link in links.items()}
    for n, path in paths.items():  # a mail scanner opens every link: no rating is cast
        page = client.get(path)
        assert page.status_code == 200
        assert re.search(rf'<input[^>]*value="{n}"[^>]*checked', page.content.decode())  # that rating chosen
    ticket.survey.refresh_from_db()
    assert ticket.survey.rating is None and ticket.survey.answered_at is None
    response = client.post(paths["4"].split("?")[0], {"rating": "4", "comment": "Sehr schnell"})
    assert 'data-testid="survey-saved"' in response.content.decode()
    ticket.survey.refresh_from_db()
    assert ticket.survey.rating == 4 and ticket.survey.comment == "Sehr schnell" and ticket.survey.agent == support["anna"]
    assert client.get(reverse("service:survey_answer", args=["forged"])).status_code == 404


def test_survey_answers_are_rate_limited_per_link(client, support, settings):
    settings.SERVICE_SURVEY_RATE_LIMIT = 2
    survey = services.survey_send(ticket=TicketFactory(team=support["team"], person=PersonFactory(email="k@example.de")))
    url = reverse("service:survey_answer", args=[services.survey_token(survey)])
    statuses = [client.post(url, {"rating": str(n)}).status_code for n in (5, 4, 3)]
    assert statuses == [200, 200, 429]
    survey.refresh_from_db()
    assert survey.rating == 4
    assert client.get(url).status_code == 200  # reading the page is not limited


def test_the_person_page_shows_a_tickets_panel_with_constant_queries(client, support, django_assert_max_num_queries):
    person = PersonFactory(owner=None)
    client.force_login(support["anna"])
    url = reverse("contacts:person_detail", args=[person.pk])
    TicketFactory(team=support["team"], person=person, subject="Erstes Ticket")
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for _ in range(10):
        TicketFactory(team=support["team"], person=person)
    with django_assert_max_num_queries(40) as many:
        html = client.get(url).content.decode()
    assert len(few.captured_queries) == len(many.captured_queries)
    assert "Erstes Ticket" in html


def test_only_deals_the_user_may_see_can_be_linked(client, support, admin_user):
    from sales.tests.factories import DealFactory

    deal = DealFactory()
    ticket = TicketFactory(team=support["team"])
    client.force_login(support["anna"])  # support agents do not see sales' deals
    response = client.post(reverse("service:ticket_update", args=[ticket.pk]), edit_data(ticket, related_deal=deal.pk))
    assert response.status_code == 200 and "related_deal" in response.context["form"].errors
    ticket.refresh_from_db()
    assert ticket.related_deal is None
    client.force_login(admin_user)
    response = client.post(reverse("service:ticket_update", args=[ticket.pk]), edit_data(ticket, related_deal=deal.pk))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.related_deal == deal
    assert deal.name in client.get(reverse("service:ticket_detail", args=[ticket.pk])).content.decode()
