"""Twenty members join at the same moment: each gets their own number, none is skipped.

Needs Postgres (one connection per thread; the counter row's lock decides the order)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from contacts.tests.factories import PersonFactory
from membership import services
from membership.models import Member
from membership.tests.factories import MembershipTypeFactory

pytestmark = pytest.mark.services
JOINS = 20

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql" and os.environ.get("REQUIRE_SERVICES") != "1",
    reason="needs Postgres (one connection per thread)",
)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_joins_get_distinct_consecutive_numbers():
    if connection.vendor != "postgresql":
        pytest.fail("needs Postgres")
    kind = MembershipTypeFactory()
    people = PersonFactory.create_batch(JOINS)
    barrier = threading.Barrier(JOINS)

    def attempt(person):
        try:
            barrier.wait(timeout=30)
            return services.member_join(person=person, membership_type=kind, start_date=kind.created_at.date(), by=None).member_number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=JOINS) as pool:
        numbers = list(pool.map(attempt, people))
    assert sorted(numbers) == [f"M-{n:05d}" for n in range(1, JOINS + 1)]
    assert Member.objects.count() == JOINS
