"""Leads are imported by the contacts import (upload, mapping, preview, Celery run, report): the
files other tools export arrive intact, bad lines are reported by line, a second run adds nothing,
and only those who may import and write sales records may import leads."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from contacts.models import ImportJob, Person
from contacts.services import importing
from crm.roles import Role
from sales.models import Lead

EXPORTS = Path(__file__).resolve().parents[2] / "contacts" / "tests" / "data" / "exports"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def import_leads(client, manager, django_capture_on_commit_callbacks):
    """Upload into leads, keep the guessed mapping, look at the preview, start."""

    def run(name: str, content: bytes | None = None):
        client.force_login(manager)
        data = content if content is not None else (EXPORTS / name).read_bytes()
        response = client.post(
            reverse("contacts:import_upload"), {"target": "lead", "file": SimpleUploadedFile(name, data, content_type="text/csv")}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        job = ImportJob.objects.order_by("-pk").first()
        assert job.target == ImportJob.Target.LEADS
        mapping_form = {f"column_{index}": field for field, index in job.mapping.items()}
        assert client.post(reverse("contacts:import_mapping", args=[job.pk]), mapping_form).status_code == 302
        preview = client.get(reverse("contacts:import_preview", args=[job.pk]))
        assert preview.status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("contacts:import_preview", args=[job.pk]))
        job.refresh_from_db()
        return job, preview

    return run


def _lead(email: str) -> dict:
    lead = Lead.objects.get(email=email)
    return {
        "first_name": lead.first_name, "last_name": lead.last_name, "company": lead.company, "position": lead.position,
        "phone": lead.phone, "postal_code": lead.postal_code, "city": lead.city, "country": lead.country.code,
        "source": lead.source, "rating": lead.rating, "status": lead.status,
    }


def test_a_salesforce_leads_report_arrives_intact(import_leads, manager):
    job, preview = import_leads("salesforce_leads.csv")

    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created_count, job.skipped_count, job.rejected_count) == (3, 0, 1), job.errors
    assert [e["line"] for e in job.errors] == [4] and "kein-at-zeichen.de" in job.errors[0]["reason"]
    assert "Jörg Müller · joerg.mueller@baeckerei-oeztuerk.de · Bäckerei Öztürk GmbH" in preview.content.decode()
    assert _lead("joerg.mueller@baeckerei-oeztuerk.de") == {
        "first_name": "Jörg", "last_name": "Müller", "company": "Bäckerei Öztürk GmbH", "position": "Leiter Vertrieb",
        "phone": "+492219876543", "postal_code": "50672", "city": "Köln", "country": "DE",
        "source": Lead.Source.TRADE_FAIR, "rating": Lead.Rating.HOT, "status": Lead.Status.NEW,
    }
    assert _lead("renate.krueger@muessig.de")["source"] == Lead.Source.PARTNER
    assert _lead("zoe.weiss@example.de")["company"] == "Weiß Design"
    assert set(Lead.objects.values_list("owner", flat=True)) == {manager.pk}
    assert not Person.objects.exists()  # leads, not contacts


def test_the_finished_lead_import_leads_to_the_leads(client, import_leads):
    job, _preview = import_leads("salesforce_leads.csv")

    page = client.get(reverse("contacts:import_detail", args=[job.pk])).content.decode()

    assert f'href="{reverse("sales:lead_list")}">Show the leads</a>' in page
    assert "Show the people" not in page


def test_importing_the_leads_again_adds_nothing(import_leads):
    import_leads("salesforce_leads.csv")

    again, _preview = import_leads("salesforce_leads.csv")

    assert (again.created_count, again.skipped_count, again.rejected_count) == (0, 3, 1)
    assert Lead.objects.count() == 3


@pytest.mark.parametrize("name", ["excel_de_ansi.csv", "hubspot_contacts.csv", "outlook_de.csv", "pipedrive_people.csv"])
def test_leads_come_from_other_exports_too(import_leads, name):
    job, _preview = import_leads(name)

    assert (job.created_count, job.rejected_count) == (3, 1), job.errors
    joerg = _lead("joerg.mueller@baeckerei-oeztuerk.de")
    assert (joerg["first_name"], joerg["last_name"], joerg["company"], joerg["phone"]) == (
        "Jörg", "Müller", "Bäckerei Öztürk GmbH", "+492219876543",
    )
    assert joerg["source"] == Lead.Source.IMPORT


def test_a_lead_needs_a_last_name_or_an_email(import_leads):
    content = b"Vorname;Nachname;E-Mail;Firma\nEva;;eva@roth.de;Roth GmbH\nUwe;Kern;;\nOhne;;;Nichts GmbH\n"

    job, _preview = import_leads("leads.csv", content)

    assert (job.created_count, job.rejected_count) == (2, 1)
    assert [e["line"] for e in job.errors] == [4] and "last name or an email" in job.errors[0]["reason"]
    assert Lead.objects.get(email="eva@roth.de").last_name == "eva@roth.de"
    assert Lead.objects.get(last_name="Kern").email == ""


def test_leads_without_email_are_not_doubled(import_leads):
    content = b"Vorname;Nachname;Firma\nUwe;Kern;Kern KG\n"
    import_leads("leads.csv", content)

    again, _preview = import_leads("leads.csv", content)

    assert (again.created_count, again.skipped_count) == (0, 1)


def test_the_old_lead_import_address_leads_to_the_import(client, manager):
    client.force_login(manager)

    response = client.get(reverse("sales:lead_import"))

    assert response.status_code == 302 and response.url == f"{reverse('contacts:import_upload')}?target=lead"
    page = client.get(response.url).content.decode()
    assert 'value="lead"' in page and "checked" in page.split('value="lead"')[1][:40]


def test_the_lead_list_links_to_the_import(client, manager):
    client.force_login(manager)

    page = client.get(reverse("sales:lead_list")).content.decode()

    assert f"{reverse('contacts:import_upload')}?target=lead" in page


@pytest.mark.parametrize("role", [Role.MARKETING, Role.SALES_REP, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD])
def test_a_role_that_may_not_import_leads_gets_403(client, role_users, role):
    client.force_login(role_users[role])

    assert client.get(reverse("sales:lead_import")).status_code == 403
    assert client.get(reverse("contacts:import_upload") + "?target=lead").status_code == 403


def test_marketing_may_import_contacts_but_not_leads(client, role_users):
    client.force_login(role_users[Role.MARKETING])
    upload = SimpleUploadedFile("leads.csv", b"Nachname;E-Mail\nBauer;b@bauer.de\n", content_type="text/csv")

    response = client.post(reverse("contacts:import_upload"), {"target": "lead", "file": upload})

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ImportJob.objects.exists()
    page = client.get(reverse("contacts:import_upload")).content.decode()
    assert 'value="person"' in page and 'value="lead"' not in page


def test_a_lead_import_of_someone_who_lost_the_right_is_403(client, role_users, manager, import_leads):
    job, _preview = import_leads("salesforce_leads.csv")
    job.status = ImportJob.Status.MAPPED
    job.save(update_fields=["status"])
    manager.groups.clear()
    manager.groups.add(*role_users[Role.MARKETING].groups.all())
    client.force_login(manager)

    assert client.get(reverse("contacts:import_preview", args=[job.pk])).status_code == 403
    assert client.get(reverse("contacts:import_mapping", args=[job.pk])).status_code == 403


def test_lead_columns_are_guessed_from_the_tools_headers():
    headers = ["First Name", "Last Name", "Title", "Company / Account", "Email", "Lead Source", "Rating", "Lead Status"]

    assert importing.guess_mapping("lead", headers) == {
        "first_name": 0, "last_name": 1, "position": 2, "company": 3, "email": 4, "source": 5, "rating": 6,
    }
