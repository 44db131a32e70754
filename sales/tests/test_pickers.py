"""A deal's contacts are picked by name among the people of its organization."""

from django.urls import reverse

from contacts.models import Employment
from contacts.tests.factories import PersonFactory
from sales.models import DealContact
from sales.tests.factories import DealFactory


def test_deal_page_picks_a_contact_by_name_among_the_organizations_people(client, alice):
    deal = DealFactory(owner=alice)
    client.force_login(alice)
    html = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert 'type="hidden" name="person"' in html and 'name="person__text"' in html
    assert '<select name="person"' not in html
    assert f"&quot;organization&quot;: {deal.organization_id}" in html  # the suggestions are narrowed to it


def test_a_person_outside_the_deals_organization_is_refused(client, alice):
    deal = DealFactory(owner=alice)
    insider, outsider = PersonFactory(), PersonFactory()
    Employment.objects.create(person=insider, organization=deal.organization)
    client.force_login(alice)
    url = reverse("sales:deal_contact_add", args=[deal.pk])
    client.post(url, {"person": outsider.pk, "role": DealContact.Role.DECISION_MAKER})
    client.post(url, {"person": "999999999999999999999", "role": DealContact.Role.DECISION_MAKER})
    assert not DealContact.objects.filter(deal=deal).exists()
    client.post(url, {"person": insider.pk, "role": DealContact.Role.DECISION_MAKER})
    assert list(DealContact.objects.filter(deal=deal).values_list("person", flat=True)) == [insider.pk]
