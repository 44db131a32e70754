from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm import timeline
from membership import services
from membership.models import Member, MemberEvent, MembershipType
from membership.tests.factories import MembershipTypeFactory, join

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("months", "to", "received", "ends"),
    [
        (3, "quarter", date(2027, 2, 10), date(2027, 6, 30)),  # 10.05. falls in Q2
        (3, "quarter", date(2027, 3, 31), date(2027, 6, 30)),  # 30.06. is still Q2
        (3, "quarter", date(2027, 4, 1), date(2027, 9, 30)),
        (3, "year", date(2027, 9, 30), date(2027, 12, 31)),
        (3, "year", date(2027, 10, 1), date(2028, 12, 31)),  # too late for this year
        (1, "month", date(2027, 1, 31), date(2027, 2, 28)),  # 31.01. + 1 month is the end of February
        (0, "month", date(2027, 5, 17), date(2027, 5, 31)),
        (6, "quarter", date(2027, 11, 30), date(2028, 6, 30)),
    ],
)
def test_it_computes_the_end_of_a_resignation(months, to, received, ends):
    kind = MembershipType(name="x", notice_months=months, notice_to=to)
    assert kind.resignation_end_date(received) == ends


def test_member_numbers_run_on_with_the_prefix_and_are_never_given_twice(settings, admin_user):
    settings.CRM_MEMBER_NUMBER_PREFIX = "TSV-"
    kind = MembershipTypeFactory()
    first = join(PersonFactory(), membership_type=kind, by=admin_user)
    second = join(PersonFactory(), membership_type=kind, by=admin_user)
    assert (first.member_number, second.member_number) == ("TSV-00001", "TSV-00002")
    MemberEvent.objects.filter(member=second).delete()
    second.delete()
    third = join(PersonFactory(), membership_type=kind, by=admin_user)
    assert third.member_number == "TSV-00003"


def test_the_database_refuses_a_member_number_twice(admin_user):
    member = join(PersonFactory(), by=admin_user)
    other = join(PersonFactory(), membership_type=member.membership_type, by=admin_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=other.pk).update(member_number=member.member_number)


def test_an_applicant_gets_a_number_when_admitted(admin_user):
    applicant = join(PersonFactory(), admit=False, by=admin_user)
    assert applicant.status == Member.Status.APPLICANT and applicant.member_number is None
    admitted = services.member_admit(member=applicant, start_date=date(2026, 12, 1), by=admin_user)
    assert admitted.status == Member.Status.ACTIVE and admitted.member_number.endswith("00001")
    assert [e.kind for e in admitted.events.order_by("pk")] == ["applied", "joined"]


def test_a_person_cannot_join_twice(admin_user):
    member = join(PersonFactory(), by=admin_user)
    with pytest.raises(ValidationError) as error:
        join(member.person, membership_type=member.membership_type, by=admin_user)
    assert "person" in error.value.error_dict


def test_an_organization_joins(admin_user):
    member = join(organization=OrganizationFactory(name="Bäckerei Kühn"), by=admin_user)
    assert member.person is None and str(member).endswith("Bäckerei Kühn")


def test_a_household_shares_a_membership_only_where_the_type_says_so(admin_user):
    family = MembershipTypeFactory(name="Familie", shared_by_household=True)
    single = MembershipTypeFactory(name="Einzel")
    holder = join(PersonFactory(), membership_type=family, by=admin_user)
    partner = join(PersonFactory(), membership_type=family, household_of=holder, by=admin_user)
    assert list(holder.household_members.all()) == [partner]
    alone = join(PersonFactory(), membership_type=single, by=admin_user)
    with pytest.raises(ValidationError) as error:
        join(PersonFactory(), membership_type=single, household_of=alone, by=admin_user)
    assert "household_of" in error.value.error_dict
    with pytest.raises(ValidationError) as error:
        join(PersonFactory(), membership_type=single, household_of=holder, by=admin_user)
    assert "membership_type" in error.value.error_dict


def test_changing_the_type_moves_the_household_and_records_the_step(admin_user):
    family = MembershipTypeFactory(name="Familie", shared_by_household=True)
    family_plus = MembershipTypeFactory(name="Familie plus", shared_by_household=True)
    single = MembershipTypeFactory(name="Einzel")
    holder = join(PersonFactory(), membership_type=family, by=admin_user)
    partner = join(PersonFactory(), membership_type=family, household_of=holder, by=admin_user)
    with pytest.raises(ValidationError):
        services.member_change_type(member=holder, membership_type=single, by=admin_user)
    services.member_change_type(member=holder, membership_type=family_plus, by=admin_user)
    partner.refresh_from_db()
    assert partner.membership_type == family_plus
    assert holder.events.filter(kind="type_changed", detail="Familie → Familie plus").exists()


def test_a_resignation_ends_the_membership_after_the_notice(admin_user, fixed_clock):
    member = join(PersonFactory(), membership_type=MembershipTypeFactory(notice_months=3, notice_to="quarter"),
                  start_date=date(2020, 4, 1), by=admin_user)
    resigned = services.member_resign(member=member, received_on=date(2026, 11, 18), by=admin_user)
    assert resigned.end_date == date(2027, 3, 31) and resigned.end_reason == "resignation"
    assert resigned.status == Member.Status.ACTIVE  # until the end date
    assert services.members_end_due() == 0
    fixed_clock.move_to(datetime(2027, 4, 1, 9, 0, tzinfo=BERLIN))
    assert services.members_end_due() == 1
    resigned.refresh_from_db()
    assert resigned.status == Member.Status.ENDED
    assert services.members_end_due() == 0  # once


def test_a_resignation_received_before_the_start_is_refused_at_its_field(admin_user):
    member = join(PersonFactory(), start_date=date(2026, 6, 1), by=admin_user)
    with pytest.raises(ValidationError) as error:
        services.member_resign(member=member, received_on=date(2026, 5, 1), by=admin_user)
    assert "received_on" in error.value.error_dict


def test_the_status_history_records_each_step(admin_user):
    member = join(PersonFactory(), admit=False, by=admin_user)
    services.member_admit(member=member, start_date=date(2026, 1, 1), by=admin_user)
    services.member_end(member=member, reason="exclusion", end_date=date(2026, 11, 1), by=admin_user)
    member.refresh_from_db()
    assert member.status == Member.Status.ENDED
    assert [(e.kind, e.status) for e in member.events.order_by("pk")] == [
        ("applied", "applicant"), ("joined", "active"), ("ended", "ended"),
    ]
    statuses = list(member.history.order_by("history_id").values_list("status", flat=True))
    assert statuses == ["applicant", "active", "ended"]


def test_each_step_is_on_the_persons_timeline(admin_user, role_users):
    person = PersonFactory()
    member = join(person, by=admin_user)
    services.member_resign(member=member, received_on=date(2026, 11, 18), by=admin_user)
    entries, _ = timeline.timeline_for(user=role_users["membership_manager"], person=person, kinds={"membership"})
    assert [e.title.split(":")[0] for e in entries] == ["Resigned", "Joined"]
    assert entries[0].url == member.get_absolute_url()
    # Other roles do not see memberships, on the timeline either.
    assert timeline.timeline_for(user=role_users["sales_rep"], person=person, kinds={"membership"})[0] == []
