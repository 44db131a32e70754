"""Everyday use in a real browser, in German, at a laptop's and a phone's size: the search
dropdown (ranking, organization, width, roles), picking a ticket's customer by name, the
organization timeline's filter, help search by words, the 403 and 404 pages, and an htmx error
in German. Screenshots go to test-artifacts/screenshots/everyday-*.png."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm.roles import Role
from crm.tests.factories import UserFactory
from crm.tests.test_browser import (  # noqa: F401  (fixtures)
    PASSWORD,
    browser,
    customers,
    page,
    serious_accessibility_violations,
    shoot,
)

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def log_in(page, base, username):  # noqa: F811
    page.goto(f"{base}{reverse('login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{reverse('home')}")


def open_search(page, size):  # noqa: F811
    if size == "phone":
        page.click(".navbar-toggler")
        page.wait_for_selector("#main-nav.show")
    page.click("#global-search")


@pytest.mark.parametrize("size", SIZES)
def test_everyday_pages_in_german(page, live_server, customers, size):  # noqa: F811
    base = live_server.url
    page.set_viewport_size(SIZES[size])
    log_in(page, base, "sabine")

    # The search dropdown: Jürgen Müller first, his organization beside him, wide enough for "Alle Ergebnisse".
    open_search(page, size)
    page.keyboard.type("mueller", delay=20)
    first = page.wait_for_selector("#search-suggest a[data-kind=person]")
    assert "Jürgen Müller" in first.inner_text() and "Müller Maschinenbau GmbH" in first.inner_text()
    box = page.locator("#search-suggest").bounding_box()
    assert box["width"] >= min(480, SIZES[size]["width"] - 40)
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
    all_results = page.locator("#search-suggest >> text=Alle Ergebnisse")
    assert all_results.is_visible()
    shoot(page, f"everyday-search-{size}")
    assert serious_accessibility_violations(page) == []

    # The organization's timeline, filtered: deals left out.
    page.goto(f"{base}{customers['organization'].get_absolute_url()}")
    page.wait_for_selector("[data-testid=timeline-filter]")
    page.uncheck("#timeline-kind-deal")
    page.wait_for_selector("#timeline-kind-deal:not(:checked)")
    page.wait_for_timeout(300)
    assert page.is_checked("#timeline-kind-activity")
    page.locator("[data-testid=timeline-filter]").scroll_into_view_if_needed()
    shoot(page, f"everyday-organization-timeline-{size}")
    assert serious_accessibility_violations(page) == []

    # Help search by several words.
    page.goto(f"{base}{reverse('help_index')}?q=Gebiet+zuweisen")
    assert page.locator("main .list-group a").count() > 0
    shoot(page, f"everyday-help-search-{size}")

    # 403 and 404 inside the frame, in German.
    page.goto(f"{base}{reverse('outgoing_email_list')}")
    assert "Sie dürfen diese Seite nicht öffnen" in page.inner_text("main")
    assert page.locator("#global-search").count() == 1
    shoot(page, f"everyday-403-{size}")
    assert serious_accessibility_violations(page) == []
    page.goto(f"{base}/contacts/people/999999/")
    assert "Diese Seite gibt es nicht" in page.inner_text("main")
    shoot(page, f"everyday-404-{size}")
    assert serious_accessibility_violations(page) == []

    # An htmx request that fails shows a German message, not "Error (500)".
    page.goto(f"{base}{reverse('home')}")
    page.route("**/search/suggest/**", lambda route: route.fulfill(status=500, body="boom"))
    open_search(page, size)
    page.keyboard.type("weber", delay=20)
    alert = page.wait_for_selector("#messages .alert-danger")
    assert alert.inner_text().startswith("Auf unserer Seite ist ein Fehler aufgetreten") and "(500)" in alert.inner_text()
    shoot(page, f"everyday-htmx-error-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_a_support_agent_picks_the_customer_by_name(page, live_server, customers, size):  # noqa: F811
    agent = UserFactory(username="lena", first_name="Lena", last_name="Lehmann", password=PASSWORD)
    agent.groups.add(Group.objects.get(name=Role.SUPPORT_LEAD))
    base = live_server.url
    page.set_viewport_size(SIZES[size])
    log_in(page, base, "lena")
    page.goto(f"{base}{reverse('service:ticket_create')}")
    page.fill("#id_subject", "Lieferung beschädigt")
    page.click("#id_person")
    page.keyboard.type("mueller", delay=20)
    option = page.wait_for_selector(".crm-autocomplete-results [data-autocomplete-option]")
    assert "Jürgen Müller" in option.inner_text() and "Müller Maschinenbau GmbH" in option.inner_text()
    shoot(page, f"everyday-ticket-customer-{size}")
    option.click()
    assert page.input_value("input[type=hidden][name=person]") == str(customers["person"].pk)
    assert page.input_value("#id_person") == "Jürgen Müller"
