from datetime import date
from decimal import Decimal

import factory

from membership.models import MembershipType


class MembershipTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MembershipType

    name = factory.Sequence(lambda n: f"Einzelmitglied {n}")
    fee = Decimal("60.00")
    fee_period = MembershipType.FeePeriod.YEARLY
    notice_months = 3
    notice_to = MembershipType.NoticeTo.QUARTER


def join(person=None, *, membership_type=None, start_date=date(2026, 1, 1), by=None, **kwargs):
    """A member through the join service, as the pages make one."""
    from membership import services

    return services.member_join(person=person, membership_type=membership_type or MembershipTypeFactory(),
                                start_date=start_date, by=by, **kwargs)
