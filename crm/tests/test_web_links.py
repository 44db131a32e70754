"""Addresses stored in records become links only for http and https (crm_tags.web_link).

The form validates a website, but addresses also arrive by import, the API, the admin and
plain ORM writes: the templates must not trust any of them."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from contacts.models import Organization
from contacts.tests.factories import OrganizationFactory

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:evil.example",
    "http://exa mple.de",
    "https://\x00evil.example",
    "ftp://files.example.de/",
    "www.example.de",
]
SAFE = ["https://www.mueller-gmbh.de", "http://mueller-gmbh.de/kontakt?x=1#top", "HTTPS://EXAMPLE.DE"]


def render(value) -> str:
    return Template("{% load crm_tags %}{{ value|web_link }}").render(Context({"value": value}))


@pytest.mark.parametrize("value", HOSTILE)
def test_anything_but_http_and_https_is_shown_as_text(value):
    html = render(value)
    assert "<a" not in html and "href" not in html
    assert "<script" not in html  # escaped, not markup


@pytest.mark.parametrize("value", SAFE)
def test_a_web_address_is_a_link_that_opens_apart(value):
    html = render(value)
    assert html.startswith('<a href="') and 'rel="noopener noreferrer"' in html and 'target="_blank"' in html


def test_markup_in_an_address_is_escaped_in_the_link():
    html = render('https://example.de/"><img src=x onerror=alert(1)>')
    assert "<img" not in html and "&quot;&gt;&lt;img" in html


def test_empty_renders_nothing():
    assert render("") == "" and render(None) == ""


def test_a_javascript_website_written_past_the_form_is_not_clickable(client, admin_user):
    organization = OrganizationFactory(owner=admin_user)
    Organization.objects.filter(pk=organization.pk).update(website="javascript:alert(document.cookie)")
    client.force_login(admin_user)
    body = client.get(organization.get_absolute_url()).content.decode()
    assert "javascript:alert(document.cookie)" in body  # shown, so the user sees what is stored
    assert 'href="javascript' not in body.lower()


def test_the_duplicates_page_shows_a_stored_javascript_website_as_text(client, admin_user):
    for name in ("Müller GmbH", "Mueller AG"):
        OrganizationFactory(name=name, owner=admin_user, website="javascript:alert(1)")
    client.force_login(admin_user)
    body = client.get(reverse("contacts:duplicate_list"), {"tab": "organizations"}).content.decode()
    assert body.count("javascript:alert(1)") == 2
    assert 'href="javascript' not in body.lower()


def test_an_imported_website_without_a_scheme_becomes_a_link(client, admin_user):
    from contacts.services.importing import website

    organization = OrganizationFactory(owner=admin_user, website=website("www.mueller-gmbh.de"))
    client.force_login(admin_user)
    body = client.get(organization.get_absolute_url()).content.decode()
    assert '<a href="https://www.mueller-gmbh.de" rel="noopener noreferrer" target="_blank">' in body


def test_a_video_link_of_an_appointment_type_is_a_link_and_other_text_is_not(client, admin_user):
    kind = AppointmentTypeFactory(host_user=admin_user, location_detail="https://meet.example.de/erstgespraech")
    appointment = AppointmentFactory(appointment_type=kind)
    client.force_login(admin_user)
    url = reverse("appointments:appointment_detail", args=[appointment.pk])
    assert '<a href="https://meet.example.de/erstgespraech"' in client.get(url).content.decode()
    kind.location_detail = "javascript:alert(1)"
    kind.save()
    body = client.get(url).content.decode()
    assert "javascript:alert(1)" in body and 'href="javascript' not in body
