"""A customer books through the public page in German, with the keyboard where it matters,
in Debian's Chromium (Playwright), and sees the confirmation. axe-core checks the page."""

import pytest
from django.core import mail
from django.urls import reverse

from appointments import services
from appointments.models import Appointment
from appointments.tests.factories import AppointmentTypeFactory, AvailabilityFactory
from crm.tests.factories import UserFactory
from crm.tests.test_browser import browser, page, serious_accessibility_violations, shoot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def booking_url(transactional_db, django_db_serialized_rollback):
    host = UserFactory(username="sabine", first_name="Sabine", last_name="Schulz", email="sabine@example.de")
    AvailabilityFactory(user=host, weekdays=range(7))
    kind = AppointmentTypeFactory(host_user=host, name="Erstgespräch 30 Min", min_notice=0)
    return reverse("appointments:public_book", args=[services.booking_token(appointment_type=kind)])


def test_customer_books_in_german_and_sees_the_confirmation(page, live_server, booking_url):  # noqa: F811
    page.goto(f"{live_server.url}{booking_url}?lang=de")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("heading", name="Erstgespräch 30 Min").is_visible()
    assert serious_accessibility_violations(page) == []
    shoot(page, "appointments_public_book")
    first_time = page.locator("input[name=slot]").first
    first_time.focus()
    page.keyboard.press("Space")
    assert first_time.is_checked()
    chosen = first_time.get_attribute("value")
    page.get_by_label("Ihr Name").fill("Erika Mustermann")
    page.get_by_label("Ihre E-Mail-Adresse").fill("erika@example.de")
    page.get_by_label("Anmerkung (optional)").fill("Bitte rufen Sie mich an.")
    page.get_by_role("button", name="Termin verbindlich buchen").click()
    page.wait_for_url("**/appointments/booked/**")
    assert page.get_by_role("heading", name="Ihr Termin ist gebucht").is_visible()
    assert "erika@example.de" in page.content()
    shoot(page, "appointments_public_done")
    appointment = Appointment.objects.get()
    assert appointment.start.isoformat() == chosen and appointment.language == "de"
    assert any(m.to == ["erika@example.de"] and m.subject.startswith("Bestätigt") for m in mail.outbox)


def test_a_missing_name_is_announced_next_to_the_field(page, live_server, booking_url):  # noqa: F811
    page.goto(f"{live_server.url}{booking_url}?lang=en")
    page.locator("input[name=slot] + label").first.click()
    page.get_by_label("Your email address").fill("erika@example.de")
    page.get_by_role("button", name="Book appointment").click()
    assert page.locator("[aria-live] .alert").inner_text().startswith("Please check")
    assert page.get_by_label("Your name").get_attribute("aria-invalid") == "true"
    assert Appointment.objects.count() == 0
