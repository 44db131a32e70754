"""The Content-Security-Policy in a real browser (Debian's Chromium through Playwright): the
pages of every role and the customers' pages load and work, and the browser reports no
violation (the `page` fixture of test_browser.py fails on any `securitypolicyviolation` event
of any page or frame and on any console report of a blocked resource).

The admin opens every catalogued page; each other role opens the pages of its navigation;
a visitor opens every public page. Then the things that used inline code before are used:
charts, the language switch, a confirmation, progress bars, the email preview frame, the
two-factor QR code, the calendar's person picker, Django's admin with its widgets.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from contacts.models import ImportJob
from crm import navigation
from crm.roles import Role
from crm.tests import catalogue
from crm.tests.factories import UserFactory
from crm.tests.test_browser import browser, page, shoot  # noqa: F401  (fixtures)
from crm.tests.test_page_frame import all_urls, is_full_page
from marketing.models import Campaign

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db, django_db_serialized_rollback, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    admin_user = UserFactory(username="chefin", is_staff=True, is_superuser=True, first_name="Sabine", last_name="Hoffmann")
    admin_user.groups.add(Group.objects.get(name=Role.ADMIN))
    records = catalogue.make_records(admin_user)
    users = {Role.ADMIN: admin_user}
    for role in Role.values:
        if role != Role.ADMIN:
            users[role] = UserFactory(username=f"{role}-user")
            users[role].groups.add(Group.objects.get(name=role))
    return {"records": records, "users": users}


def log_in(page, base: str, user) -> None:  # noqa: F811
    """The browser gets the session of a test client logged in as `user` (the login form has its
    own test); the session cookie of the previous user is replaced."""
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])


def html_pages(client, urls: dict[str, str]) -> dict[str, str]:
    """The URLs that answer with a full HTML page (no download, redirect or fragment)."""
    found = {}
    for name, url in urls.items():
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        elif is_full_page(response):
            found[name] = url
    return found


def visit(page, base: str, url: str) -> None:  # noqa: F811
    page.goto(f"{base}{url}", wait_until="load")
    # htmx loads some panels after the page ("load" triggers); give them their round trip.
    page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=5000)


def test_every_page_of_the_admin_runs_under_the_policy(page, live_server, world):  # noqa: F811
    admin_user = world["users"][Role.ADMIN]
    client = Client()
    client.force_login(admin_user)
    urls = html_pages(client, {n: u for n, u in all_urls(world["records"]).items() if n not in catalogue.customer_pages()})
    assert len(urls) > 60 and {"home", "sales:board", "analytics:sales", "service:ticket_detail"} <= set(urls)
    log_in(page, live_server.url, admin_user)
    for url in urls.values():
        visit(page, live_server.url, url)
    # ... and Django's admin, with the widgets that need its scripts (autocomplete, inlines).
    visit(page, live_server.url, reverse("admin:index"))
    visit(page, live_server.url, reverse("admin:contacts_person_change", args=[world["records"]["person"].pk]))
    assert page.evaluate("typeof django !== 'undefined' && typeof django.jQuery === 'function'")
    assert page.locator(".select2-container").count() > 0  # the autocomplete widgets came to life
    shoot(page, "csp-admin-person")


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMIN])
def test_the_main_pages_of_each_role_run_under_the_policy(page, live_server, world, role):  # noqa: F811
    user = world["users"][role]
    entries = [reverse(item.url_name) for item in navigation.items_for(user)]
    assert entries, role
    log_in(page, live_server.url, user)
    for url in [reverse("home"), *entries, reverse("two_factor"), reverse("help_index")]:
        visit(page, live_server.url, url)


def test_the_customer_pages_run_under_the_policy(page, live_server, world):  # noqa: F811
    urls = html_pages(Client(), {n: u for n, u in all_urls(world["records"]).items() if n in catalogue.public_pages()})
    assert {"login", "marketing:form_public", "service:portal_login", "appointments:public_book"} <= set(urls)
    for url in urls.values():
        visit(page, live_server.url, url)


def test_what_used_inline_code_works_under_the_policy(page, live_server, world):  # noqa: F811
    records, admin_user = world["records"], world["users"][Role.ADMIN]
    base = live_server.url
    log_in(page, base, admin_user)

    # Charts: Chart.js draws every canvas of a dashboard.
    visit(page, base, reverse("analytics:sales"))
    assert page.evaluate("() => { const c = [...document.querySelectorAll('canvas[data-chart]')];"
                         " return c.length > 0 && c.every(canvas => Chart.getChart(canvas)); }")
    shoot(page, "csp-dashboard")

    # The language switch submits on change (it was an onchange attribute).
    visit(page, base, reverse("contacts:person_list"))
    with page.expect_navigation():
        page.select_option("#language-switch", "en")
    assert page.evaluate("document.documentElement.lang") == "en"

    # A confirmation (it was onsubmit="return confirm(...)"): dismissed, nothing is sent.
    campaign = records["campaign"]
    visit(page, base, campaign.get_absolute_url())
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Send now").click()
    page.wait_for_timeout(300)
    assert questions and "consented to email" in questions[0]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT

    # Progress bars take their width from data-progress, also after htmx swapped in a new state.
    job = ImportJob.objects.filter(created_by=admin_user).first()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, total_rows=10, processed_rows=4)
    visit(page, base, reverse("contacts:import_detail", args=[job.pk]))
    with page.expect_response(lambda r: reverse("contacts:import_progress", args=[job.pk]) in r.url):
        pass  # one poll of the progress partial
    page.wait_for_function("() => document.querySelector('#import-progress .progress-bar').style.width === '40%'")
    shoot(page, "csp-import-progress")

    # The email preview is a frame with a policy of its own: the email's inline styles apply.
    template = records["template"]
    visit(page, base, template.get_absolute_url())
    frame = page.frame_locator("[data-testid=email-preview]")
    frame.locator("body").wait_for()
    assert frame.locator("body").inner_text().strip()
    shoot(page, "csp-email-preview")

    # Two-factor set-up shows its QR code.
    visit(page, base, reverse("two_factor"))
    assert page.locator(".crm-qr svg").bounding_box()["width"] > 100

    # The calendar's person picker submits on change.
    visit(page, base, reverse("appointments:calendar"))
    other = world["users"][Role.SALES_REP]
    if page.locator(f"#cal-user option[value='{other.pk}']").count():
        with page.expect_navigation():
            page.select_option("#cal-user", str(other.pk))
        assert f"user={other.pk}" in page.url

    # The board loads SortableJS and shows its cards.
    visit(page, base, reverse("sales:board"))
    assert page.evaluate("typeof Sortable === 'function'")
