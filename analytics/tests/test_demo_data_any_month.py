"""The demo looks alive on any day: on the 1st of a month, "this month" on the dashboards already
shows figures (the demo data lies relative to now, with some of it in the hours of today)."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from analytics.scope import Period
from analytics.services import appointments, customers, marketing, sales, service

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def _cards(dashboard) -> dict:
    return {card.key: card.value for card in dashboard.cards}


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2027, 3, 1, 8, 30, tzinfo=BERLIN),  # a Monday morning
        datetime(2027, 5, 1, 0, 40, tzinfo=BERLIN),  # a Saturday, just after midnight
        datetime(2027, 12, 28, 15, 0, tzinfo=BERLIN),  # late in a month, for comparison
    ],
    ids=["monday-1st-morning", "saturday-1st-after-midnight", "28th"],
)
def test_this_months_dashboards_have_figures_on_any_day(moment):
    with time_machine.travel(moment, tick=False):
        call_command("seed_demo", "--force", stdout=io.StringIO())
        admin = get_user_model().objects.get(username="admin")
        params = {"period": Period.THIS_MONTH}
        figures = {
            "sales": _cards(sales.compute(admin, params)),
            "service": _cards(service.compute(admin, params)),
            "appointments": _cards(appointments.compute(admin, params)),
            "customers": _cards(customers.compute(admin, params)),
            "marketing": _cards(marketing.compute(admin, params)),
        }
    assert figures["sales"]["won_amount"] > 0, figures["sales"]
    assert figures["service"]["created"] > 0, figures["service"]
    assert figures["appointments"]["booked"] > 0 and figures["appointments"]["scheduled"] > 0, figures["appointments"]
    assert figures["customers"]["revenue"] > 0, figures["customers"]
