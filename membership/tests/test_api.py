from datetime import date

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm.roles import Role
from crm.tests.api_client import call
from membership.models import Member
from membership.tests.factories import MembershipTypeFactory, join

pytestmark = pytest.mark.django_db
WRITERS = (Role.ADMIN, Role.MEMBERSHIP_MANAGER)
OTHERS = (Role.SALES_REP, Role.SUPPORT_AGENT, Role.MARKETING)


@pytest.mark.parametrize("role", WRITERS + OTHERS)
def test_members_and_types_answer_as_the_pages_allow(client, role_users, admin_user, role):
    kind = MembershipTypeFactory(name="Einzel")
    member = join(PersonFactory(), membership_type=kind, start_date=date(2024, 1, 1), by=admin_user)
    person = PersonFactory()
    client.force_login(role_users[role])
    allowed = role in WRITERS
    answers = {
        "list": call(client, "get", reverse("api:member-list")).status_code,
        "types": call(client, "get", reverse("api:membership-type-list")).status_code,
        "detail": call(client, "get", reverse("api:member-detail", args=[member.pk])).status_code,
        "join": call(client, "post", reverse("api:member-list"),
                     {"person": person.pk, "membership_type": kind.pk, "start_date": "2026-11-18"}).status_code,
        "resign": call(client, "post", reverse("api:member-resign", args=[member.pk]), {"received_on": "2026-11-18"}).status_code,
        "new type": call(client, "post", reverse("api:membership-type-list"), {"name": "Familie", "fee": "96.00"}).status_code,
    }
    if allowed:
        assert answers == {"list": 200, "types": 200, "detail": 200, "join": 201, "resign": 200, "new type": 201}
        assert Member.objects.get(person=person).member_number == "M-00002"
    else:
        assert answers == {"list": 403, "types": 403, "detail": 404, "join": 403, "resign": 404, "new type": 403}
        assert not Member.objects.filter(person=person).exists()


def test_a_resignation_over_the_api_computes_the_end(client, role_users, admin_user):
    member = join(PersonFactory(), membership_type=MembershipTypeFactory(notice_months=3, notice_to="year"), by=admin_user)
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = call(client, "post", reverse("api:member-resign", args=[member.pk]), {"received_on": "2026-09-30"})
    assert response.status_code == 200 and response.json()["end_date"] == "2026-12-31"


def test_a_refused_join_names_the_field(client, role_users, admin_user):
    member = join(PersonFactory(), by=admin_user)
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = call(client, "post", reverse("api:member-list"),
                    {"person": member.person_id, "membership_type": member.membership_type_id, "start_date": "2026-11-18"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"person"}


def test_the_type_of_a_member_changes_over_the_api(client, role_users, admin_user):
    member = join(PersonFactory(), by=admin_user)
    other = MembershipTypeFactory(name="Ermäßigt")
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = call(client, "patch", reverse("api:member-detail", args=[member.pk]), {"membership_type": other.pk})
    assert response.status_code == 200 and response.json()["membership_type"] == other.pk
    assert member.events.filter(kind="type_changed").exists()
