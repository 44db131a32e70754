from datetime import date

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm.roles import Role
from membership import services
from membership.models import Member
from membership.tests.factories import MembershipTypeFactory, join

pytestmark = pytest.mark.django_db
WRITERS = (Role.ADMIN, Role.MEMBERSHIP_MANAGER)
OTHERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD, Role.MARKETING)


@pytest.fixture
def member(admin_user):
    return join(PersonFactory(first_name="Jürgen", last_name="Müller"), membership_type=MembershipTypeFactory(name="Einzel"),
                start_date=date(2024, 1, 1), by=admin_user)


@pytest.mark.parametrize("role", WRITERS + OTHERS)
def test_only_the_membership_roles_use_the_pages(client, role_users, member, role):
    client.force_login(role_users[role])
    lists = [reverse("membership:member_list"), reverse("membership:member_join"), reverse("membership:type_list"),
             reverse("membership:type_create")]
    records = [reverse(name, args=[member.pk]) for name in (
        "membership:member_detail", "membership:member_history", "membership:member_resign", "membership:member_end",
        "membership:member_change_type")] + [reverse("membership:type_update", args=[member.membership_type_id])]
    allowed = role in WRITERS
    assert {url: client.get(url).status_code for url in lists} == {url: 200 if allowed else 403 for url in lists}
    assert {url: client.get(url).status_code for url in records} == {url: 200 if allowed else 404 for url in records}
    response = client.post(reverse("membership:member_resign", args=[member.pk]), {"received_on": "2026-11-18"})
    assert response.status_code == (302 if allowed else 404)
    member.refresh_from_db()
    assert (member.end_date is not None) == allowed


def test_it_joins_a_person_from_the_form(client, role_users):
    kind = MembershipTypeFactory(name="Einzel")
    person = PersonFactory()
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = client.post(reverse("membership:member_join"), {
        "person": person.pk, "membership_type": kind.pk, "start_date": "2026-11-18", "admit": "on",
    })
    member = Member.objects.get(person=person)
    assert response.status_code == 302 and response.url == member.get_absolute_url()
    assert member.member_number == "M-00001" and member.created_by == role_users[Role.MEMBERSHIP_MANAGER]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"start_date": "2026-11-18"}, "person"),  # neither person nor organization
        ({"start_date": "kein Datum"}, "start_date"),
        ({"start_date": "2026-11-18", "household_number": "M-99999"}, "household_number"),
    ],
)
def test_bad_input_on_the_join_form_is_shown_at_the_field(client, role_users, data, field):
    kind = MembershipTypeFactory()
    if field != "person":
        data["person"] = PersonFactory().pk
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = client.post(reverse("membership:member_join"), {"membership_type": kind.pk, **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Member.objects.exists()


def test_a_second_membership_is_refused_at_the_person_field(client, role_users, member):
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = client.post(reverse("membership:member_join"), {
        "person": member.person_id, "membership_type": member.membership_type_id, "start_date": "2026-11-18", "admit": "on",
    })
    assert response.status_code == 200
    assert "already is a member" in str(response.context["form"].errors["person"])


def test_the_resign_form_shows_the_computed_end(client, role_users, member):
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    response = client.post(reverse("membership:member_resign", args=[member.pk]), {"received_on": "2026-11-18"}, follow=True)
    assert "31.03.2027" in response.content.decode()  # 3 months to the end of the quarter
    assert "Resigned" in response.content.decode()  # in the status history


def test_the_member_page_shows_the_status_history(client, role_users, member):
    services.member_end(member=member, reason="exclusion", end_date=date(2026, 11, 18), by=None)
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    page = client.get(member.get_absolute_url()).content.decode()
    assert "Membership ended" in page and "Exclusion" in page and "Joined" in page


def test_the_person_page_shows_the_membership_to_the_membership_roles_only(client, role_users, member):
    url = member.person.get_absolute_url()
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    assert member.member_number in client.get(url).content.decode()
    client.force_login(role_users[Role.SALES_REP])
    page = client.get(url)
    assert page.status_code == 200 and member.member_number not in page.content.decode()


def test_the_global_search_finds_a_member_by_number(client, role_users, member):
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    page = client.get(reverse("search"), {"q": member.member_number}).content.decode()
    assert member.get_absolute_url() in page
    client.force_login(role_users[Role.SALES_REP])
    assert member.get_absolute_url() not in client.get(reverse("search"), {"q": member.member_number}).content.decode()


def test_the_member_list_filters_by_type_and_status(client, role_users, admin_user):
    single, family = MembershipTypeFactory(name="Einzel"), MembershipTypeFactory(name="Familie")
    one = join(PersonFactory(), membership_type=single, by=admin_user)
    two = join(PersonFactory(), membership_type=family, by=admin_user, admit=False)
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    listed = lambda **query: list(client.get(reverse("membership:member_list"), query).context["object_list"])  # noqa: E731
    assert listed(membership_type=single.pk) == [one]
    assert listed(status="applicant") == [two]
    assert listed(q=one.member_number) == [one]


def test_the_member_list_runs_the_same_queries_for_few_and_many_rows(client, role_users, admin_user, django_assert_max_num_queries):
    kinds = [MembershipTypeFactory(), MembershipTypeFactory(shared_by_household=True)]
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    url = reverse("membership:member_list")
    counts = []
    for count in (2, 24):
        while Member.objects.count() < count:
            join(PersonFactory(), membership_type=kinds[Member.objects.count() % 2], by=admin_user)
        join(organization=None, person=PersonFactory(), membership_type=kinds[1], by=admin_user,
             household_of=Member.objects.filter(membership_type=kinds[1], household_of=None).first())
        with django_assert_max_num_queries(14) as captured:
            response = client.get(url)
        assert response.status_code == 200 and len(response.context["object_list"]) == Member.objects.count()
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_the_start_page_shows_the_register_and_the_applications(client, role_users, admin_user, member):
    applicant = join(PersonFactory(first_name="Waltraud"), membership_type=member.membership_type, admit=False, by=admin_user)
    client.force_login(role_users[Role.MEMBERSHIP_MANAGER])
    page = client.get(reverse("home")).content.decode()
    assert 'id="w-members"' in page and reverse("membership:member_admit", args=[applicant.pk]) in page
    client.force_login(role_users[Role.SALES_REP])
    assert 'id="w-members"' not in client.get(reverse("home")).content.decode()
