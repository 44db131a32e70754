"""Shared fixtures: one user per role, plus the alice/bob/charlie trio of STYLE.md
(alice owns a record, bob is her teammate, charlie is an outsider)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group

from crm.models import Team
from crm.roles import Role
from crm.tests.factories import UserFactory

# Every test runs on this clock unless it is marked `real_clock`: a Wednesday in the middle of a
# month, far from a DST switch and off the half hour (slot boundaries), so "this month", "this
# week" and "today" hold the same records on any day CI runs. The clock ticks (timeouts and
# durations behave), it just starts here. crm/tests/test_clock.py proves it on the 1st, 2nd, 28th.
FROZEN_AT = datetime(2026, 11, 18, 10, 7, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture(autouse=True)
def fixed_clock(request):
    """The test's clock (a time_machine traveller: `fixed_clock.move_to(...)`, `.shift(...)`)."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    with time_machine.travel(FROZEN_AT, tick=True) as traveller:
        yield traveller


def make_user(username: str, *roles: str, **kwargs):
    user = UserFactory(username=username, **kwargs)
    if roles:
        user.groups.add(*Group.objects.filter(name__in=roles))
    return user


@pytest.fixture(autouse=True)
def _empty_cache():
    """No cached value (a rate-limit counter, say) leaks from one test into the next."""
    from crm.tests.cache import cache_clear

    cache_clear()


@pytest.fixture(autouse=True)
def _language_reset():
    """A test that leaves German active (a public page activates the customer's language) does not
    make the next test's services write German notes."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def role_users(db):
    """One user per role, the sales rep and the sales manager in one team."""
    users = {role: make_user(f"{role}_user", role) for role in Role.values}
    team = Team.objects.create(name="Vertrieb Nord", manager=users[Role.SALES_MANAGER])
    team.members.add(users[Role.SALES_REP])
    return users


@pytest.fixture
def alice(db):
    return make_user("alice", Role.SALES_REP, first_name="Alice", last_name="Albrecht")


@pytest.fixture
def bob(db, alice):
    """Alice's teammate (same team, also a rep) and the team's manager is `manager`."""
    return make_user("bob", Role.SALES_REP, first_name="Bob", last_name="Brandt")


@pytest.fixture
def manager(db, alice, bob):
    user = make_user("mona", Role.SALES_MANAGER, first_name="Mona", last_name="Meier")
    team = Team.objects.create(name="Team Alice", manager=user)
    team.members.add(alice, bob)
    return user


@pytest.fixture
def charlie(db):
    """An outsider: a sales rep in no team with alice."""
    return make_user("charlie", Role.SALES_REP, first_name="Charlie", last_name="Claus")


@pytest.fixture
def nobody(db):
    """Logged in, but without any CRM role."""
    return make_user("nobody")


@pytest.fixture
def admin_user(db):
    return make_user("admin", Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def client_for(client):
    """`client_for(user)` logs the test client in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on a free 127.0.0.1 port that Django's email settings point at;
    `stop()` takes it away and `start()` brings it back on the same port (crm/tests/smtp.py)."""
    from crm.tests.smtp import SmtpSink

    sink = SmtpSink().use(settings).start()
    yield sink
    sink.stop()


@pytest.fixture
def write_token(alice):
    """A read-and-write API token of alice's (crm/tests/api_client.py sends requests with it)."""
    from crm.api import tokens

    return tokens.token_create(user=alice, name="Alice's sync", scope="read_write").secret
