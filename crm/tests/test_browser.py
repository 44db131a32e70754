"""A sales rep's first journey in a real browser (Debian's Chromium through Playwright):
log in, find a customer with the keyboard, read the page's help, log a call without a
reload, and walk back through the breadcrumbs. axe-core checks the pages on the way.

Screenshots go to test-artifacts/screenshots/. With UPDATE_HELP_SCREENSHOTS=1 the ones the
help pages show are copied to static/help/ as well; otherwise every run would rewrite
tracked images whose only change is today's date.
"""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from contacts.models import Organization, Person
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory, TaskFactory
from crm import help as crm_help
from crm.roles import Role
from crm.tests.factories import UserFactory

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "Vertrieb-2027!"
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
HELP_IMAGES = Path(settings.BASE_DIR) / "static" / "help"
AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 10_000


@pytest.fixture
def browser(monkeypatch):
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Every page and frame reports what the Content-Security-Policy blocked, as it happens, to the test.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__reportCspViolation({directive: event.violatedDirective, blocked: event.blockedURI,
                               sample: event.sample, source: event.sourceFile + ":" + event.lineNumber,
                               page: document.location.href});
});
"""


def watch_page(context) -> tuple:
    """A new page whose JavaScript errors and CSP violations (the `securitypolicyviolation` events
    of every page and frame, and the console's reports) are collected in the returned lists."""
    errors, blocked = [], []
    context.expose_binding("__reportCspViolation", lambda source, violation: blocked.append(violation))
    context.add_init_script(script=WATCH_CSP)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: blocked.append(f"console on {page.url}: {message.text[:200]}")
        if "Content Security Policy" in message.text else None,
    )
    return page, errors, blocked


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", viewport={"width": 1200, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    page, errors, blocked = watch_page(context)
    yield page

    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not blocked, "Content-Security-Policy violations:\n" + "\n".join(map(str, blocked))


@pytest.fixture
def customers(transactional_db, django_db_serialized_rollback):
    """A sales rep with a known password, her customers and her tasks for today."""
    rep = UserFactory(username="sabine", first_name="Sabine", last_name="Schulz", password=PASSWORD)
    rep.groups.add(Group.objects.get(name=Role.SALES_REP))
    mueller = OrganizationFactory(
        name="Müller Maschinenbau GmbH",
        legal_form="",
        owner=rep,
        industry=Organization.Industry.MECHANICAL,
        employees=120,
    )
    others = [
        OrganizationFactory(name=name, legal_form=form, industry=industry, relationship=relationship, owner=rep)
        for name, form, industry, relationship in [
            ("Schäfer Logistik", "gmbh_co_kg", Organization.Industry.LOGISTICS, Organization.Relationship.PROSPECT),
            ("Bäckerei Weißgerber", "ek", Organization.Industry.CRAFTS, Organization.Relationship.CUSTOMER),
            ("Stadtwerke Lüneburg", "public", Organization.Industry.ENERGY, Organization.Relationship.PARTNER),
        ]
    ]
    juergen = PersonFactory(
        first_name="Jürgen",
        last_name="Müller",
        salutation=Person.Salutation.MR,
        email="j.mueller@mueller-maschinenbau.de",
        city="Stuttgart",
        owner=rep,
        lifecycle_stage=Person.Lifecycle.QUALIFIED,
    )
    EmploymentFactory(person=juergen, organization=mueller, position="Leiter Einkauf")
    for first, last, org in [
        ("Anna", "Schäfer", others[0]),
        ("Özlem", "Yılmaz", others[1]),
        ("Klaus", "Weißgerber", others[1]),
    ]:
        EmploymentFactory(person=PersonFactory(first_name=first, last_name=last, owner=rep), organization=org)
    now = timezone.now()
    TaskFactory(
        subject="Angebot Fräsmaschine nachfassen", person=juergen, created_by=rep, due_at=now - timedelta(hours=2)
    )
    TaskFactory(subject="Rückruf wegen Liefertermin", person=None, organization=others[0], created_by=rep, due_at=now)
    return {"rep": rep, "person": juergen, "organization": mueller}


def shoot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def publish_for_help(path: Path, help_name: str) -> None:
    if os.environ.get("UPDATE_HELP_SCREENSHOTS") == "1":
        HELP_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, HELP_IMAGES / f"{help_name}.png")


def serious_accessibility_violations(page) -> list[dict]:
    # Evaluated through the DevTools protocol: a <script> tag of Playwright's would be an inline
    # script without our nonce, which the Content-Security-Policy rightly refuses.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    # Colours are judged at rest: let running CSS transitions (a button under the mouse) finish.
    page.evaluate("Promise.all(document.getAnimations().filter(a => a instanceof CSSTransition).map(a => a.finished))")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    for violation in serious:
        print(f"axe {violation['impact']}: {violation['id']} – {violation['help']} ({page.url})")
        for node in violation["nodes"][:5]:
            print("   ", node["target"], node.get("failureSummary", "").replace("\n", " "))
    return [{"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]]} for v in serious]


def test_sales_rep_finds_a_customer_reads_help_and_logs_a_call(page, live_server, customers):
    person, organization = customers["person"], customers["organization"]
    base = live_server.url

    # Log in through the form.
    page.goto(f"{base}{reverse('home')}")
    assert page.url.startswith(f"{base}{reverse('login')}")
    page.fill("#id_username", "sabine")
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{reverse('home')}")
    my_tasks = page.locator("section[aria-labelledby=w-my-tasks]")
    assert "Angebot Fräsmaschine nachfassen" in my_tasks.inner_text()
    publish_for_help(shoot(page, "01-start-page"), "home")
    assert serious_accessibility_violations(page) == []

    # "/" jumps into the search; the dropdown offers the person as you type.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("mueller", delay=30)
    hit = page.wait_for_selector("#search-suggest a[data-kind=person]")
    assert "Jürgen Müller" in hit.inner_text()
    publish_for_help(shoot(page, "02-search-dropdown"), "search_suggest")
    hit.click()
    page.wait_for_url(f"{base}{person.get_absolute_url()}")

    publish_for_help(shoot(page, "03-person"), "person_detail")

    # "?" opens the help for this very page in the side panel.
    title = crm_help.get_page("contacts:person_detail", "de").title
    page.keyboard.press("?")
    page.wait_for_selector("#help-panel.show")
    page.wait_for_selector(f"#help-panel-body [data-help-page='contacts:person_detail'] >> text={title}")
    page.wait_for_timeout(400)  # let the slide-in finish before the picture
    publish_for_help(shoot(page, "04-person-with-help"), "help_panel")
    page.click("#help-panel .btn-close")
    page.wait_for_selector("#help-panel", state="hidden")

    # A note goes into the timeline without a reload.
    assert serious_accessibility_violations(page) == []
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_note-subject", "Telefonat: Liefertermin KW 12 bestätigt")
    page.click("#note-form button")
    page.wait_for_selector("#timeline >> text=Telefonat: Liefertermin KW 12 bestätigt")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    assert page.url == f"{base}{person.get_absolute_url()}"
    assert page.input_value("#id_note-subject") == "", "the note form was not reset"
    shoot(page, "05-note-added")

    # Back through the breadcrumbs: the person's organization, then the organization list.
    crumbs = page.locator("[data-testid=breadcrumbs]")
    crumbs.get_by_role("link", name=organization.name).click()
    page.wait_for_url(f"{base}{organization.get_absolute_url()}")
    shoot(page, "06-organization")
    crumbs.get_by_role("link", name="Organisationen").or_(crumbs.get_by_role("link", name="Organizations")).click()
    page.wait_for_url(f"{base}{reverse('contacts:organization_list')}")
    page.wait_for_selector("#list-table >> text=Müller Maschinenbau GmbH")
    publish_for_help(shoot(page, "07-organization-list"), "organization_list")

    page.goto(f"{base}{reverse('contacts:person_list')}")
    page.wait_for_selector("#list-table >> text=Jürgen Müller")
    shoot(page, "08-person-list")
    assert serious_accessibility_violations(page) == []
