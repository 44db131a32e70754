"""A ticket's customer and related deal are picked by name (crm.widgets autocomplete), never by
number, and only among the records the user may see."""

import re

from django.urls import reverse

from contacts.models import Employment
from contacts.tests.factories import OrganizationFactory, PersonFactory
from sales.tests.factories import DealFactory
from service.forms import TicketCreateForm, TicketForm
from service.tests.factories import TicketFactory
from service.tests.test_views import edit_data


def _renders_autocomplete(html: str, name: str) -> bool:
    return (
        f'type="hidden" name="{name}"' in html and f'name="{name}__text"' in html
        and not re.search(rf'<select[^>]*name="{name}"', html) and not re.search(rf'type="number"[^>]*name="{name}"', html)
    )


def test_new_ticket_page_picks_the_customer_by_name(client, support):
    client.force_login(support["anna"])
    person = PersonFactory(first_name="Jürgen", last_name="Müller")
    html = client.get(reverse("service:ticket_create"), {"person": person.pk}).content.decode()
    assert _renders_autocomplete(html, "person")
    assert reverse("contacts:person_autocomplete") in html
    assert 'value="Jürgen Müller"' in html  # the person handed over from their page, by name


def test_ticket_edit_page_picks_the_deal_by_name(client, support):
    client.force_login(support["lead"])
    ticket = TicketFactory(team=support["team"])
    html = client.get(reverse("service:ticket_update", args=[ticket.pk])).content.decode()
    assert _renders_autocomplete(html, "related_deal")
    assert reverse("sales:deal_autocomplete") in html


def test_a_user_without_a_crm_role_cannot_pick_a_person(nobody, support):
    person = PersonFactory()
    form = TicketCreateForm({"subject": "Rechnung", "description": "x", "person": person.pk, "channel": "email",
                             "priority": "normal"}, user=nobody)
    assert not form.is_valid() and "person" in form.errors
    form = TicketCreateForm({"subject": "Rechnung", "description": "x", "person": person.pk, "channel": "email",
                             "priority": "normal"}, user=support["anna"])
    assert "person" not in form.errors


def test_an_invisible_deal_is_refused_and_not_named(support):
    deal = DealFactory(name="Geheimer Rahmenvertrag")
    ticket = TicketFactory(team=support["team"])
    form = TicketForm(edit_data(ticket, related_deal=deal.pk), instance=ticket, user=support["anna"])
    assert not form.is_valid() and "related_deal" in form.errors
    assert "Geheimer Rahmenvertrag" not in str(form["related_deal"])


def test_a_deal_linked_by_someone_who_sees_it_stays_linked_but_unnamed(client, support):
    deal = DealFactory(name="Geheimer Rahmenvertrag")
    ticket = TicketFactory(team=support["team"], related_deal=deal)
    client.force_login(support["anna"])
    html = client.get(reverse("service:ticket_update", args=[ticket.pk])).content.decode()
    assert "Geheimer Rahmenvertrag" not in html
    response = client.post(reverse("service:ticket_update", args=[ticket.pk]),
                           edit_data(ticket, related_deal=deal.pk, subject="Neu"))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.related_deal == deal and ticket.subject == "Neu"


def test_deal_suggestions_show_only_visible_deals_with_their_organization(client, alice, charlie):
    organization = OrganizationFactory(name="Müller Maschinenbau GmbH")
    DealFactory(name="Hallenkran 2027", owner=alice, organization=organization)
    url = reverse("sales:deal_autocomplete")
    assert client.get(url, {"q": "hallenkran"}).status_code == 302
    client.force_login(alice)
    html = client.get(url, {"field": "related_deal", "related_deal__text": "hallenkran"}).content.decode()
    assert "Hallenkran 2027" in html and "Müller Maschinenbau GmbH" in html
    client.force_login(charlie)
    assert "Hallenkran 2027" not in client.get(url, {"q": "hallenkran"}).content.decode()


def test_person_suggestions_show_the_organization_and_can_be_narrowed_to_it(client, alice, nobody):
    organization = OrganizationFactory(name="Müller Maschinenbau GmbH")
    juergen = PersonFactory(first_name="Jürgen", last_name="Müller")
    Employment.objects.create(person=juergen, organization=organization)
    PersonFactory(first_name="Hans", last_name="Müller")
    url = reverse("contacts:person_autocomplete")
    client.force_login(alice)
    html = client.get(url, {"q": "mueller"}).content.decode()
    assert "Jürgen Müller" in html and "Müller Maschinenbau GmbH" in html and "Hans Müller" in html
    html = client.get(url, {"q": "mueller", "organization": organization.pk}).content.decode()
    assert "Jürgen Müller" in html and "Hans Müller" not in html
    client.force_login(nobody)
    assert client.get(url, {"q": "mueller"}).status_code == 403


def test_person_suggestions_run_a_constant_number_of_queries(client, alice, django_assert_max_num_queries):
    url = reverse("contacts:person_autocomplete")
    client.force_login(alice)
    PersonFactory(last_name="Müller")
    # Session, user, roles, the search, the organizations' prefetch; on Postgres the typo pass too.
    with django_assert_max_num_queries(25) as few:
        client.get(url, {"q": "mueller"})
    for index in range(8):
        person = PersonFactory(last_name="Müller")
        Employment.objects.create(person=person, organization=OrganizationFactory(name=f"Müller {index} KG"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url, {"q": "mueller"})
