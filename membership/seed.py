"""Demo data: membership types of a sports club and members among the demo people (a family
membership with its household, an applicant, a resigned and an ended member)."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from contacts.models import Organization, Person
from crm.seeding import Seeder, register
from membership import services
from membership.models import Member, MembershipType

TYPES = [
    ("Einzelmitglied", Decimal("60.00"), MembershipType.FeePeriod.YEARLY, False, 3, MembershipType.NoticeTo.YEAR),
    ("Familie", Decimal("96.00"), MembershipType.FeePeriod.YEARLY, True, 3, MembershipType.NoticeTo.YEAR),
    ("Ermäßigt (Schüler, Studierende)", Decimal("2.50"), MembershipType.FeePeriod.MONTHLY, False, 1, MembershipType.NoticeTo.MONTH),
    ("Fördermitglied (Unternehmen)", Decimal("150.00"), MembershipType.FeePeriod.QUARTERLY, False, 3, MembershipType.NoticeTo.QUARTER),
]
MEMBERS = 40


def seed_membership(*, scale: int, users: dict, faker, log) -> None:
    manager = (users.get("membership_manager") or users.get("admin") or [None])[0]
    types = []
    for name, fee, period, shared, months, notice_to in TYPES:
        kind, _ = MembershipType.objects.get_or_create(
            name=name, defaults={"fee": fee, "fee_period": period, "shared_by_household": shared, "notice_months": months, "notice_to": notice_to},
        )
        types.append(kind)
    single, family, reduced, sponsor = types
    rng = random.Random(7)
    today = timezone.localdate()
    people = list(Person.objects.filter(memberships__isnull=True).order_by("pk")[: MEMBERS + 3])
    made = 0
    for index, person in enumerate(people[:MEMBERS]):
        kind = reduced if index % 7 == 3 else single
        start = today - timedelta(days=rng.randint(30, 3650))
        member = services.member_join(person=person, membership_type=kind if index % 10 else family, start_date=start, by=manager)
        made += 1
        if index % 10 == 0 and index + 1 < len(people):  # a family: the household joins under the same membership
            partner = people[MEMBERS + index // 10] if MEMBERS + index // 10 < len(people) else None
            if partner is not None:
                services.member_join(person=partner, membership_type=family, start_date=start, household_of=member, by=manager)
                made += 1
        if index % 9 == 5:
            services.member_resign(member=member, received_on=today - timedelta(days=rng.randint(0, 20)), by=manager)
        elif index % 13 == 7:
            services.member_end(member=member, reason=Member.EndReason.EXCLUSION, end_date=max(start, today - timedelta(days=10)), by=manager)
    if people[MEMBERS:MEMBERS + 1] and not Member.objects.filter(status=Member.Status.APPLICANT).exists():
        applicant = Person.objects.filter(memberships__isnull=True).order_by("-pk").first()
        if applicant is not None:
            services.member_join(person=applicant, membership_type=single, start_date=today, admit=False, by=manager)
            made += 1
    for organization in Organization.objects.filter(memberships__isnull=True).order_by("pk")[:3]:
        services.member_join(organization=organization, membership_type=sponsor, start_date=date(today.year, 1, 1), by=manager)
        made += 1
    log(f"Membership: {len(types)} types, {made} members.")


register(Seeder("membership", seed_membership, order=65, has_data=lambda: Member.objects.exists()))
