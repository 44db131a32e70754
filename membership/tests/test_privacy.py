from datetime import date

import pytest

from contacts.tests.factories import PersonFactory
from crm import privacy
from membership import services
from membership.models import Member, MemberEvent
from membership.tests.factories import MembershipTypeFactory, join

pytestmark = pytest.mark.django_db


@pytest.fixture
def household(admin_user):
    family = MembershipTypeFactory(name="Familie", shared_by_household=True)
    holder = join(PersonFactory(first_name="Hiltrud"), membership_type=family, start_date=date(2020, 3, 1), by=admin_user)
    partner = join(PersonFactory(first_name="Egon"), membership_type=family, start_date=date(2021, 3, 1), household_of=holder,
                   by=admin_user)
    services.member_resign(member=holder, received_on=date(2026, 11, 18), by=admin_user)
    return holder, partner


def test_the_export_holds_the_membership_and_its_steps(household, admin_user):
    holder, _partner = household
    data = privacy.export_person(holder.person, by=admin_user)["sections"]["membership"]["data"]
    assert data[0]["member_number"] == holder.member_number and data[0]["membership_type"] == "Familie"
    assert data[0]["end_date"] == "2027-03-31" and data[0]["end_reason"] == "resignation"
    assert [step["kind"] for step in data[0]["steps"]] == ["joined", "resigned"]


def test_the_erasure_deletes_the_membership_and_keeps_the_household_and_the_numbers(household, admin_user):
    holder, partner = household
    number = holder.member_number
    privacy.erase_person(holder.person, by=admin_user)
    assert not Member.objects.filter(pk=holder.pk).exists()
    assert not Member.history.filter(id=holder.pk).exists()
    assert not MemberEvent.objects.filter(member_id=holder.pk).exists()
    partner.refresh_from_db()
    assert partner.household_of is None and partner.status == Member.Status.ACTIVE
    newcomer = join(PersonFactory(), membership_type=partner.membership_type, by=admin_user)
    assert newcomer.member_number != number and newcomer.member_number == "M-00003"
