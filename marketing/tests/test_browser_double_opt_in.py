"""Double opt-in end to end in a real browser (Debian's Chromium through Playwright): a visitor
fills in the public web form and ticks the newsletter box, the confirmation email arrives, the
visitor opens its link, and the consent is recorded as granted with its history."""

import re

import pytest
from django.core import mail

from crm.tests.test_browser import CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT_MS, browser  # noqa: F401  (browser is a fixture)
from marketing.models import Consent, ConsentEvent
from marketing.tests.factories import CampaignFactory, WebFormFactory

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_double_opt_in_from_form_to_recorded_consent(browser, live_server, settings):  # noqa: F811
    settings.CRM_BASE_URL = live_server.url
    web_form = WebFormFactory(title="Newsletter bestellen", campaign=CampaignFactory(code="newsletter-web"), fields=["first_name"])
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}{web_form.get_public_url()}?utm_source=website&utm_medium=footer")
    page.get_by_label("First name").fill("Erika")
    page.get_by_label("Last name").fill("Weber")
    page.get_by_label("Email").fill("erika.weber@example.de")
    page.get_by_label(web_form.consent_text).check()
    page.get_by_role("button", name="Send").click()
    page.get_by_test_id("form-done").wait_for()
    assert "confirm" in page.content()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "marketing_form_done.png"))

    consent = Consent.objects.get(person__email="erika.weber@example.de")
    assert consent.status == Consent.Status.PENDING
    assert len(mail.outbox) == 1
    link = re.search(r"(http://\S+/marketing/c/\S+/)", mail.outbox[0].body).group(1)
    assert link.startswith(live_server.url)

    page.goto(link)
    assert page.get_by_test_id("public-title").inner_text() == "Thank you for confirming"
    page.screenshot(path=str(SCREENSHOTS / "marketing_double_opt_in_confirmed.png"))
    consent.refresh_from_db()
    assert consent.status == Consent.Status.GRANTED and consent.source == Consent.Source.DOUBLE_OPT_IN
    assert list(ConsentEvent.objects.filter(consent=consent).order_by("pk").values_list("action", flat=True)) == ["requested", "granted"]
    assert consent.person.form_submissions.get().utm == {"utm_source": "website", "utm_medium": "footer", "utm_campaign": "newsletter-web"}
