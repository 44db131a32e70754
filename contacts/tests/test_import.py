"""CSV import: upload, mapping, preview, the run and its report, access."""

from pathlib import Path

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from contacts.dedupe import organization_name_key
from contacts.models import Employment, ImportJob, Organization, OrganizationAddress, Person
from contacts.services import importing
from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm import webhooks
from crm.roles import Role

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read the English messages; without this the pages would answer in German."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def importer(role_users):
    return role_users[Role.MARKETING]


@pytest.fixture
def run_import(client_for, importer, django_capture_on_commit_callbacks):
    """Upload, keep the guessed mapping, start: the whole journey through the pages."""

    def run(name: str, *, target: str = "person", content: bytes | None = None, user=None):
        client = client_for(user or importer)
        data = content if content is not None else (DATA / name).read_bytes()
        response = client.post(
            reverse("contacts:import_upload"),
            {"target": target, "file": SimpleUploadedFile(name, data, content_type="text/csv")},
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        job = ImportJob.objects.order_by("-pk").first()
        assert response.url == reverse("contacts:import_mapping", args=[job.pk])
        mapping_form = {f"column_{index}": name for name, index in job.mapping.items()}
        response = client.post(reverse("contacts:import_mapping", args=[job.pk]), mapping_form)
        assert response.status_code == 302 and response.url == reverse("contacts:import_preview", args=[job.pk])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("contacts:import_preview", args=[job.pk]))
        assert response.status_code == 302
        job.refresh_from_db()
        return job

    return run


def _errors_by_line(job):
    return {entry["line"]: entry["reason"] for entry in job.errors}


# --- The run ------------------------------------------------------------------------------


def test_it_reports_each_bad_line_with_its_number_and_stores_the_good_ones(run_import, importer):
    job = run_import("people_mixed.csv")

    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.processed_rows) == (11, 11)
    assert (job.created_count, job.skipped_count, job.rejected_count) == (3, 1, 7)
    errors = _errors_by_line(job)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 13]
    assert "E-Mail" in errors[3] and "erika@" in errors[3]
    assert "Nachname" in errors[4] and "required" in errors[4]
    assert "Telefon" in errors[5] and "phone" in errors[5]
    assert "Geburtstag" in errors[6] and "31.02.2000" in errors[6]
    assert "Land" in errors[7] and "Atlantis" in errors[7]
    assert "Anrede" in errors[8] and "Dr" in errors[8]
    assert "Geburtstag" in errors[13] and "future" in errors[13]

    assert set(Person.objects.values_list("email", flat=True)) == {"max@example.de", "anna@example.de", "lea@example.de"}
    max_ = Person.objects.get(email="max@example.de")
    assert max_.salutation == Person.Salutation.MR
    assert max_.phone.as_e164 == "+49301234567"
    assert max_.birthday.isoformat() == "1980-02-01"
    assert max_.lifecycle_stage == Person.Lifecycle.CUSTOMER
    assert max_.source == Person.Source.IMPORT
    assert max_.owner == importer
    assert max_.search_key and "mustermann" in max_.search_key
    anna = Person.objects.get(email="anna@example.de")
    assert anna.description == "Erste Zeile\nZweite Zeile"
    assert anna.lifecycle_stage == Person.Lifecycle.LEAD
    assert str(anna.phone) == "+49 89 12345678"
    lea = Person.objects.get(email="lea@example.de")
    assert (lea.country.code, lea.lifecycle_stage) == ("AT", Person.Lifecycle.QUALIFIED)


def test_importing_the_same_file_twice_creates_nothing_the_second_time(run_import):
    first = run_import("people_mixed.csv")
    people, employments, orgs = Person.objects.count(), Employment.objects.count(), Organization.objects.count()

    second = run_import("people_mixed.csv")

    assert first.created_count == 3
    assert (second.status, second.created_count, second.skipped_count, second.rejected_count) == ("done", 0, 4, 7)
    assert (Person.objects.count(), Employment.objects.count(), Organization.objects.count()) == (people, employments, orgs)


def test_people_without_email_are_not_doubled_on_a_second_import(run_import):
    content = "Vorname;Nachname;PLZ;Ort\nJonas;Ohnemail;50667;Köln\nJonas;Ohnemail;10115;Berlin\n".encode()
    assert run_import("a.csv", content=content).created_count == 2
    again = run_import("a.csv", content=content)
    assert (again.created_count, again.skipped_count) == (0, 2)


def test_an_email_in_a_second_address_counts_as_already_present(run_import):
    PersonFactory(email="main@example.de", email_secondary="Other@Example.de")
    content = b"Nachname;E-Mail\nEins;OTHER@example.de\nZwei;main@example.de\nDrei;new@example.de\n"
    job = run_import("b.csv", content=content)
    assert (job.created_count, job.skipped_count) == (1, 2)


def test_it_links_people_to_existing_organizations_and_creates_missing_ones_once(run_import, importer):
    existing = OrganizationFactory(name="Müller GmbH")
    content = (
        "Vorname;Nachname;E-Mail;Firma;Position\n"
        "Max;Mustermann;max@example.de;Müller AG;Einkauf\n"
        "Nina;Neu;nina@example.de;Neue Firma KG;Leitung\n"
        "Otto;Neu;otto@example.de;neue firma;\n"
        "Paul;Ohnefirma;paul@example.de;;\n"
    ).encode()

    job = run_import("c.csv", content=content)

    assert job.created_count == 4
    max_job = Employment.objects.get(person__email="max@example.de")
    assert (max_job.organization, max_job.position, max_job.is_primary) == (existing, "Einkauf", True)
    new_org = Organization.objects.get(name="Neue Firma KG")
    assert new_org.owner == importer and new_org.name_key == organization_name_key("neue firma")
    assert set(new_org.employments.values_list("person__email", flat=True)) == {"nina@example.de", "otto@example.de"}
    assert not Employment.objects.filter(person__email="paul@example.de").exists()
    assert Organization.objects.count() == 2
    assert "1 organization" in job.message


def test_it_reads_semicolon_separated_windows_1252_files_with_umlauts(run_import):
    job = run_import("people_cp1252.csv")

    assert (job.encoding, job.delimiter) == ("cp1252", ";")
    assert job.created_count == 2, job.errors
    juergen = Person.objects.get(email="juergen@example.de")
    assert (juergen.first_name, juergen.last_name, juergen.street, juergen.city) == ("Jürgen", "Größ", "Hauptstraße 1", "München")
    assert juergen.organizations.get().name == "Bäckerei Öztürk"
    assert Person.objects.get(email="aennchen@example.de").last_name == "Müßig"


def test_it_imports_organizations_with_address_and_skips_known_names(run_import):
    OrganizationFactory(name="Vorhanden GmbH", country="DE")
    OrganizationFactory(name="Delta SE", country="DE")  # another country than in the file: not the same

    job = run_import("organizations.csv", target="organization")

    assert job.status == "done"
    errors = _errors_by_line(job)
    assert sorted(errors) == [4, 5, 8]
    assert "Branche" in errors[4] and "Raumfahrt" in errors[4]
    assert "Mitarbeiter" in errors[5] and "viele" in errors[5]
    assert "Firma" in errors[8]
    assert (job.created_count, job.skipped_count) == (2, 2)  # Acme AG repeats Acme GmbH; Vorhanden AG exists
    acme = Organization.objects.get(name="Acme GmbH")
    assert (acme.legal_form, acme.industry, acme.website) == ("gmbh", "mechanical_engineering", "https://www.acme.de")
    assert (acme.employees, str(acme.annual_revenue), acme.phone.as_e164) == (120, "1250000.50", "+4940123456")
    address = OrganizationAddress.objects.get(organization=acme)
    assert (address.kind, address.street, address.postal_code, address.city) == ("main", "Hafenstraße 5", "20457", "Hamburg")
    delta = Organization.objects.get(name="Delta SE", country="CH")
    assert delta.industry == "energy" and delta.annual_revenue == 2000000
    assert not OrganizationAddress.objects.filter(organization=delta).exists()


def test_an_export_imports_again_without_creating_anything(client_for, role_users, run_import):
    person = PersonFactory(email="rund@example.de", phone="+49 30 1234567", birthday="1970-05-06", salutation="mr")
    OrganizationFactory(name="Rund GmbH").employments.create(person=person, position="Chef")
    response = client_for(role_users[Role.MARKETING]).get(reverse("contacts:person_export"))
    exported = b"".join(response.streaming_content)

    job = run_import("export.csv", content=exported)

    assert job.mapping.keys() >= {"salutation", "first_name", "last_name", "email", "phone", "birthday", "organization", "position"}
    assert (job.rejected_count, job.created_count, job.skipped_count) == (0, 0, 1), job.errors


def test_a_failure_while_writing_leaves_nothing_behind(run_import, monkeypatch):
    def breaking(store):
        def broken(model, objs):
            if model is Employment:  # after the people and organizations of the chunk are stored
                raise RuntimeError("disk full")
            return store(model, objs)

        return broken

    monkeypatch.setattr(importing, "insert", breaking(importing.insert))  # SQLite
    monkeypatch.setattr(importing, "_copy", breaking(importing._copy))  # Postgres

    job = run_import("people_mixed.csv")

    assert job.status == ImportJob.Status.FAILED
    assert "Nothing was saved" in job.message and "RuntimeError" in job.message
    assert not Person.objects.exists() and not Organization.objects.exists()
    assert job.finished_at is not None


def test_a_missing_file_fails_the_import_with_a_message(run_import, importer, django_capture_on_commit_callbacks):
    job = ImportJob.objects.create(
        target="person", file="imports/missing.csv", original_name="missing.csv", headers=["Nachname"],
        mapping={"last_name": 0}, status=ImportJob.Status.QUEUED, created_by=importer,
    )
    assert importing.import_run(job=job) is True
    job.refresh_from_db()
    assert job.status == "failed" and "can no longer be read" in job.message


def test_running_a_job_twice_does_nothing_the_second_time(run_import):
    job = run_import("people_mixed.csv")
    assert importing.import_run(job=job) is False
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    assert importing.import_run(job=job) is False
    assert Person.objects.count() == 3


def test_the_task_claims_only_queued_jobs(run_import):
    from contacts.tasks import import_run as task

    job = run_import("people_mixed.csv")
    ImportJob.objects.filter(pk=job.pk).update(created_count=99)
    task.delay(job.pk)
    task.delay(987654)  # a deleted job: nothing to do
    job.refresh_from_db()
    assert job.created_count == 99


def test_the_existence_check_is_one_query_per_chunk(importer, tmp_path, settings, monkeypatch):
    """Throughput: the write pass asks the database per chunk of lines, never per line."""
    monkeypatch.setattr(importing, "CHUNK_SIZE", 50)
    lines = ["Vorname;Nachname;E-Mail;Firma"] + [f"V{i};N{i};p{i}@example.de;Firma {i % 7}" for i in range(200)]
    upload = SimpleUploadedFile("many.csv", "\n".join(lines).encode())
    info = importing.inspect_csv(upload, name=upload.name, size=upload.size)
    job = importing.import_create(target="person", upload=upload, info=info, user=importer)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    webhooks.subscriptions()  # a running process has the webhook subscriptions in the cache

    with CaptureQueriesContext(connection) as queries:
        importing.import_run(job=job)

    job.refresh_from_db()
    assert job.created_count == 200 and Employment.objects.count() == 200
    person_selects = [q for q in queries.captured_queries if q["sql"].startswith("SELECT") and "contacts_person" in q["sql"] and "nextval" not in q["sql"]]
    assert len(person_selects) == 4  # 200 lines in chunks of 50
    # Once per run: the importer's roles and the custom fields they may fill.
    assert len(queries.captured_queries) < 42


# --- Upload -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("people.xlsx", b"PK\x03\x04", "This is not a valid Excel workbook (.xlsx)."),
        ("people.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "This spreadsheet format cannot be read. In Excel choose"),
        ("people.ods", b"PK\x03\x04", "This spreadsheet format cannot be read."),
        ("people.pdf", b"%PDF-1.4", "Please upload a .csv, an .xlsx (Excel) or a .vcf (vCard) file."),
        ("bild.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\r\n\r\n  \n", "The file is empty"),
        ("header-only.csv", b"Vorname;Nachname\n", "no data lines"),
        ("no-header.csv", b"Max;Mustermann;max@example.de\nErika;Musterfrau;erika@example.de\n", "looks like data"),
        ("postcodes.csv", b"10115;Berlin\n80331;M\xc3\xbcnchen\n", "looks like data"),
        ("broken.csv", b'Nachname;Notiz\nMuster;"offen\n', "From line 2 on, the file cannot be read as CSV"),
    ],
)
def test_a_bad_file_gets_a_message_at_the_field(client_for, importer, name, content, message):
    response = client_for(importer).post(
        reverse("contacts:import_upload"), {"target": "person", "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()


def test_a_file_over_50_mb_is_refused():
    upload = SimpleUploadedFile("big.csv", b"Nachname\nx\n")
    with pytest.raises(ValidationError, match="larger than 50 MB"):
        importing.inspect_csv(upload, name="big.csv", size=importing.MAX_UPLOAD_BYTES + 1)


def test_upload_detects_encoding_and_delimiter(importer):
    cases = {
        "utf-8-sig": ("\ufeffVorname,Nachname\nÄrne,Öl\n".encode(), ","),
        "utf-8": ("Vorname\tNachname\nÄrne\tÖl\n".encode(), "\t"),
        "cp1252": ("Vorname;Nachname\nÄrne;Öl\n".encode("cp1252"), ";"),
    }
    for encoding, (content, delimiter) in cases.items():
        upload = SimpleUploadedFile("x.csv", content)
        info = importing.inspect_csv(upload, name="x.csv", size=upload.size)
        assert (info.encoding, info.delimiter, info.headers, info.total_rows) == (encoding, delimiter, ["Vorname", "Nachname"], 1)


def test_upload_stores_the_file_and_guesses_the_columns(client_for, importer):
    response = client_for(importer).post(
        reverse("contacts:import_upload"),
        {"target": "person", "file": SimpleUploadedFile("kunden.csv", (DATA / "people_mixed.csv").read_bytes())},
    )
    job = ImportJob.objects.get()
    assert response.url == reverse("contacts:import_mapping", args=[job.pk])
    assert (job.created_by, job.original_name, job.status, job.total_rows) == (importer, "kunden.csv", "uploaded", 11)
    assert len(job.file_sha256) == 64 and job.file.name.startswith("imports/")
    assert job.mapping == {
        "salutation": 0, "first_name": 1, "last_name": 2, "email": 3, "phone": 4, "postal_code": 5, "city": 6,
        "country": 7, "birthday": 8, "organization": 9, "position": 10, "lifecycle_stage": 11, "description": 12,
    }


def test_the_upload_page_preselects_the_target(client_for, importer):
    response = client_for(importer).get(reverse("contacts:import_upload") + "?target=organization")
    assert response.status_code == 200
    assert response.context["form"].initial["target"] == "organization"
    assert [c.label for c in response.context["breadcrumbs"]] == ["Imports", "New import"]


# --- Mapping ------------------------------------------------------------------------------


def test_it_guesses_columns_from_german_and_english_headers():
    german = ["Vorname", "Nachname", "E-Mail", "Firma", "PLZ", "Ort", "Straße", "Handy", "Unbekannt"]
    assert importing.guess_mapping("person", german) == {
        "first_name": 0, "last_name": 1, "email": 2, "organization": 3, "postal_code": 4, "city": 5, "street": 6, "mobile": 7,
    }
    english = ["First Name", "Last name", "Email address", "Company", "ZIP", "City", "Country"]
    assert importing.guess_mapping("person", english) == {
        "first_name": 0, "last_name": 1, "email": 2, "organization": 3, "postal_code": 4, "city": 5, "country": 6,
    }
    assert importing.guess_mapping("organization", ["Firma", "PLZ", "Ort", "Branche", "Rechtsform"]) == {
        "name": 0, "postal_code": 1, "city": 2, "industry": 3, "legal_form": 4,
    }


def _uploaded_job(user, content=b"Vorname;Nachname;Mail\nMax;Muster;max@example.de\n", target="person"):
    upload = SimpleUploadedFile("x.csv", content)
    info = importing.inspect_csv(upload, name="x.csv", size=upload.size)
    return importing.import_create(target=target, upload=upload, info=info, user=user)


def test_the_mapping_page_shows_examples_and_saves_the_choice(client_for, importer):
    job = _uploaded_job(importer)
    client = client_for(importer)
    response = client.get(reverse("contacts:import_mapping", args=[job.pk]))
    assert response.status_code == 200
    assert "max@example.de" in response.content.decode()
    assert [c.label for c in response.context["breadcrumbs"]] == ["People", "Imports", "x.csv", "Columns"]

    response = client.post(reverse("contacts:import_mapping", args=[job.pk]), {"column_0": "", "column_1": "last_name", "column_2": "email_secondary"})

    job.refresh_from_db()
    assert response.url == reverse("contacts:import_preview", args=[job.pk])
    assert (job.status, job.mapping) == ("mapped", {"last_name": 1, "email_secondary": 2})


def test_the_mapping_needs_the_required_field_once(client_for, importer):
    job = _uploaded_job(importer)
    client = client_for(importer)
    url = reverse("contacts:import_mapping", args=[job.pk])

    response = client.post(url, {"column_0": "first_name", "column_1": "", "column_2": "email"})
    assert response.status_code == 200 and "Last name" in str(response.context["form"].non_field_errors())

    response = client.post(url, {"column_0": "last_name", "column_1": "last_name", "column_2": "email"})
    assert response.status_code == 200 and "already filled" in str(response.context["form"].errors["column_1"])
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_the_mapping_page_warns_about_a_file_imported_before(client_for, run_import, importer):
    first = run_import("people_mixed.csv")
    job = _uploaded_job(importer, content=(DATA / "people_mixed.csv").read_bytes())
    response = client_for(importer).get(reverse("contacts:import_mapping", args=[job.pk]))
    assert response.context["earlier"] == first
    assert "already imported" in response.content.decode()


# --- Preview and progress -----------------------------------------------------------------


def test_the_preview_shows_what_would_happen_per_line_and_stores_nothing(client_for, importer):
    PersonFactory(email="anna@example.de")
    OrganizationFactory(name="Müller GmbH")
    job = _uploaded_job(importer, content=(DATA / "people_mixed.csv").read_bytes())
    job.status = ImportJob.Status.MAPPED
    job.save()
    people = Person.objects.count()

    response = client_for(importer).get(reverse("contacts:import_preview", args=[job.pk]))

    assert response.status_code == 200
    rows = {row.line: row for row in response.context["rows"]}
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13]
    assert rows[2].outcome == "create" and "existing organization" in rows[2].reason
    assert rows[3].outcome == "rejected" and "erika@" in rows[3].reason
    assert rows[9].outcome == "present" and "Already in the CRM" in rows[9].reason
    assert rows[11].outcome == "present" and "earlier line" in rows[11].reason
    assert rows[12].outcome == "create"
    assert response.context["counts"] == {"create": 2, "present": 2, "rejected": 7}
    assert Person.objects.count() == people
    assert [c.label for c in response.context["breadcrumbs"]] == ["People", "Imports", "x.csv", "Preview"]


def test_the_preview_shows_at_most_20_lines(importer):
    content = "Nachname\n" + "".join(f"N{i}\n" for i in range(30))
    job = _uploaded_job(importer, content=content.encode())
    assert len(importing.import_preview(job=job)) == 20


def test_the_preview_sends_back_to_the_mapping_until_it_is_saved(client_for, importer):
    job = _uploaded_job(importer)
    response = client_for(importer).get(reverse("contacts:import_preview", args=[job.pk]))
    assert response.url == reverse("contacts:import_mapping", args=[job.pk])


def test_a_started_import_cannot_be_remapped_or_started_again(client_for, run_import, importer):
    job = run_import("people_mixed.csv")
    client = client_for(importer)
    assert client.get(reverse("contacts:import_mapping", args=[job.pk])).url == job.get_absolute_url()
    assert client.post(reverse("contacts:import_preview", args=[job.pk])).url == job.get_absolute_url()
    assert Person.objects.count() == 3


def test_progress_is_polled_while_running_and_the_report_shown_when_done(client_for, importer, run_import):
    job = run_import("people_mixed.csv")
    client = client_for(importer)
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=5)

    running = client.get(reverse("contacts:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in running and 'aria-valuenow="45"' in running and "progress-bar" in running

    ImportJob.objects.filter(pk=job.pk).update(status="done", processed_rows=11)
    done = client.get(reverse("contacts:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and 'data-testid="import-report"' in done
    assert "erika@" in done

    page = client.get(job.get_absolute_url())
    assert page.status_code == 200
    assert [c.label for c in page.context["breadcrumbs"]] == ["People", "Imports", "people_mixed.csv"]
    assert "31.02.2000" in page.content.decode()


def test_the_list_shows_my_imports(client_for, importer, role_users, run_import):
    mine = run_import("people_mixed.csv")
    other = _uploaded_job(role_users[Role.SALES_MANAGER])
    response = client_for(importer).get(reverse("contacts:import_list"))
    assert response.status_code == 200
    assert list(response.context["jobs"]) == [mine]
    assert other.original_name not in response.content.decode()
    admin = client_for(role_users[Role.ADMIN]).get(reverse("contacts:import_list") + "?page=9")
    assert set(admin.context["jobs"]) == {mine, other}


# --- Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPPORT_AGENT, Role.SUPPORT_LEAD, Role.SALES_REP])
def test_roles_without_import_rights_get_403(client_for, role_users, importer, role):
    job = _uploaded_job(importer)
    client = client_for(role_users[role])
    assert client.get(reverse("contacts:import_upload")).status_code == 403
    upload = SimpleUploadedFile("x.csv", b"Nachname\nMuster\n")
    assert client.post(reverse("contacts:import_upload"), {"target": "person", "file": upload}).status_code == 403
    assert client.get(reverse("contacts:import_list")).status_code == 403
    # Another user's import is not theirs to see: 404, like every URL of a record one may not see.
    assert client.get(reverse("contacts:import_detail", args=[job.pk])).status_code == 404
    assert ImportJob.objects.count() == 1


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(reverse("contacts:import_list"))
    assert response.status_code == 302 and reverse("login") in response.url


@pytest.mark.parametrize("name", ["import_detail", "import_mapping", "import_preview", "import_progress"])
def test_another_users_import_is_404_but_admins_see_it(client_for, role_users, importer, name):
    job = _uploaded_job(importer)
    url = reverse(f"contacts:{name}", args=[job.pk])
    assert client_for(role_users[Role.SALES_MANAGER]).get(url).status_code == 404
    assert client_for(role_users[Role.SALES_MANAGER]).post(url).status_code in (404, 405)
    assert client_for(role_users[Role.ADMIN]).get(url).status_code in (200, 302)
    assert client_for(importer).get(url).status_code in (200, 302)


# --- Converters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("convert", "raw", "expected"),
    [
        (importing.phone, "030 1234567", "+49301234567"),
        (importing.phone, "+43 1 5123456", "+4315123456"),
        (importing.phone, "0049 89 12345678", "+498912345678"),
        (importing.country, "de", "DE"),
        (importing.country, "Deutschland", "DE"),
        (importing.country, "Germany", "DE"),
        (importing.country, "Österreich", "AT"),
        (importing.country, "schweiz", "CH"),
        (importing.country, "AUT", "AT"),
        (importing.country, "USA", "US"),
        (importing.past_date, "1.2.1980", "1980-02-01"),
        (importing.past_date, "1980-02-01", "1980-02-01"),
        (importing.amount, "1.250.000,50 €", "1250000.50"),
        (importing.amount, "1,250,000.50", "1250000.50"),
        (importing.amount, "99", "99.00"),
        (importing.amount, "1.250", "1250.00"),
        (importing.amount, "1,250", "1250.00"),
        (importing.amount, "1,25", "1.25"),
        (importing.amount, "12.5", "12.50"),
        (importing.email, " Max@Example.DE ".strip(), "max@example.de"),
        (importing.website, "acme.de", "https://acme.de"),
    ],
)
def test_values_are_converted(convert, raw, expected):
    assert convert(raw) == expected


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("salutation", "Herr", "mr"), ("salutation", "Frau", "ms"), ("salutation", "Mr.", "mr"), ("salutation", "ms", "ms"),
        ("lifecycle_stage", "Kunde", "customer"), ("lifecycle_stage", "Former customer", "former_customer"),
        ("source", "Messe", "trade_fair"), ("source", "Trade fair", "trade_fair"), ("source", "cold_call", "cold_call"),
        ("preferred_language", "Englisch", "en"), ("academic_title", "Prof. Dr.", "prof_dr"),
    ],
)
def test_person_choices_accept_value_and_labels(field, raw, expected):
    column = next(c for c in importing.PERSON_COLUMNS if c.name == field)
    assert column.convert(raw) == expected


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("legal_form", "GmbH & Co. KG", "gmbh_co_kg"), ("legal_form", "e.K.", "ek"), ("legal_form", "UG", "ug"),
        ("industry", "Maschinenbau", "mechanical_engineering"), ("industry", "IT and software", "it"),
        ("relationship", "Lieferant", "supplier"), ("relationship", "Customer", "customer"),
    ],
)
def test_organization_choices_accept_value_and_labels(field, raw, expected):
    column = next(c for c in importing.ORGANIZATION_COLUMNS if c.name == field)
    assert column.convert(raw) == expected


@pytest.mark.parametrize(
    ("convert", "raw"),
    [
        (importing.phone, "12"), (importing.phone, "abc"), (importing.country, "Atlantis"), (importing.country, "XX"),
        (importing.past_date, "31.02.2000"), (importing.past_date, "2000/01/01"), (importing.past_date, "01.01.2999"),
        (importing.amount, "-5"), (importing.amount, "viel"), (importing.amount, "NaN"), (importing.email, "a@b"),
        (importing.website, "not a url"), (importing.text(5), "zu lang"),
    ],
)
def test_bad_values_are_refused(convert, raw):
    with pytest.raises(importing.CellError):
        convert(raw)


def test_a_line_with_extra_values_is_rejected_but_trailing_empty_cells_are_fine(importer):
    job = _uploaded_job(importer, content=b"Vorname;Nachname\nMax;Muster;;\nMax;Muster;Berlin\n")
    cleaner = importing.RowCleaner(job)
    assert cleaner.clean(2, ["Max", "Muster", "", ""]).errors == []
    assert "header has 2 columns" in cleaner.clean(3, ["Max", "Muster", "Berlin"]).errors[0]


def test_the_same_address_twice_is_rejected(importer):
    job = _uploaded_job(importer, content=b"Nachname;Mail;Mail 2\nMuster;a@example.de;A@example.de\n")
    job.mapping = {"last_name": 0, "email": 1, "email_secondary": 2}
    assert importing.RowCleaner(job).clean(2, ["Muster", "a@example.de", "A@example.de"]).errors == [
        "Column “Mail 2”: the second email is the same as the first."
    ]


def test_the_formula_guard_of_the_export_is_undone(importer):
    job = _uploaded_job(importer, content=b"Nachname;Telefon\nMuster;'+49 30 1234567\n")
    job.mapping = {"last_name": 0, "phone": 1}
    assert importing.RowCleaner(job).clean(2, ["Muster", "'+49 30 1234567"]).values["phone"] == "+49301234567"


@pytest.mark.parametrize("raw", ["030 1234567", "+39 06 1234 5678", "+1 212 555 0100", "+353 1 234 5678", "+225 07 12 34 56 78"])
def test_validated_numbers_are_rebuilt_exactly_without_a_second_parse(raw):
    e164 = importing.phone(raw)
    rebuilt = importing._checked_phone(e164)
    reference = phonenumbers.parse(e164)
    for style in (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL):
        assert phonenumbers.format_number(rebuilt, style) == phonenumbers.format_number(reference, style)
    assert phonenumbers.is_valid_number(rebuilt)


@pytest.mark.parametrize("count", [3, 25])
def test_the_list_query_count_does_not_grow_with_imports(client_for, importer, django_assert_max_num_queries, count):
    for _ in range(count):
        _uploaded_job(importer)
    client = client_for(importer)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("contacts:import_list"))
    assert len(response.context["jobs"]) == count


def test_the_detail_page_and_its_progress_use_few_queries(client_for, importer, run_import, django_assert_max_num_queries):
    job = run_import("people_mixed.csv")
    client = client_for(importer)
    with django_assert_max_num_queries(5):
        assert client.get(job.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("contacts:import_progress", args=[job.pk])).status_code == 200


def test_a_big_upload_streamed_to_a_temporary_file_is_read_too(client_for, importer, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force Django's on-disk upload handler
    content = ("Vorname;Nachname;E-Mail\n" + "".join(f"Vor{i};Nach{i};p{i}@example.de\n" for i in range(2000))).encode("cp1252")
    response = client_for(importer).post(
        reverse("contacts:import_upload"), {"target": "person", "file": SimpleUploadedFile("gross.csv", content)}
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.total_rows, job.encoding, job.file.size) == (2000, "utf-8", len(content))


def test_stalled_import_goes_back_to_the_queue_and_runs_once(db, alice, tmp_path, settings):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from contacts.models import ImportJob, Person
    from contacts.services.importing import imports_resume_stalled
    from contacts.tasks import import_run as import_run_task

    settings.MEDIA_ROOT = tmp_path
    job = ImportJob.objects.create(
        target=ImportJob.Target.PEOPLE, original_name="p.csv", created_by=alice, delimiter=";",
        headers=["Nachname", "E-Mail"], mapping={"last_name": 0, "email": 1},
        status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    job.file.save("p.csv", ContentFile(b"Nachname;E-Mail\nStall;stall@example.de\n"))
    fresh = ImportJob.objects.create(
        target=ImportJob.Target.PEOPLE, original_name="q.csv", created_by=alice,
        status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now(),
    )
    assert imports_resume_stalled() == [job.pk]
    import_run_task(job.pk)
    import_run_task(job.pk)
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and fresh.status == ImportJob.Status.RUNNING
    assert Person.objects.filter(last_name="Stall").count() == 1


def test_files_of_old_imports_are_purged(db, alice, tmp_path, settings):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from contacts.models import ImportJob
    from contacts.services.importing import import_files_purge

    settings.MEDIA_ROOT = tmp_path
    old = ImportJob.objects.create(target="person", original_name="a.csv", created_by=alice,
                                   status=ImportJob.Status.DONE, finished_at=timezone.now() - timedelta(days=31))
    old.file.save("a.csv", ContentFile(b"Nachname\nA\n"))
    recent = ImportJob.objects.create(target="person", original_name="b.csv", created_by=alice,
                                      status=ImportJob.Status.DONE, finished_at=timezone.now())
    recent.file.save("b.csv", ContentFile(b"Nachname\nB\n"))
    path = old.file.path
    assert import_files_purge() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.file and recent.file
    import os
    assert not os.path.exists(path)


def test_the_write_pass_stores_the_values_save_would(run_import, importer):
    """On Postgres the rows are loaded with COPY rather than bulk_create: the same columns must arrive."""
    existing = OrganizationFactory(name="Alt GmbH")
    content = (
        "Anrede;Vorname;Nachname;E-Mail;Telefon;Mobil;Straße;PLZ;Ort;Land;Geburtstag;Firma;Position;Abteilung\n"
        "Herr;Jürgen;Müller;Juergen.Mueller@Example.DE;030 1234567;0171 1234567;Hauptstraße 1;10115;Berlin;Deutschland;"
        "06.05.1970;Neue Firma KG;Leiter;Einkauf\n"
        "Frau;Anna;Schmidt;anna@example.de;;;;;;Österreich;;Alt GmbH;;\n"
        ";;Ohnevorname;;;;;;;;;;;\n"
    ).encode()

    job = run_import("full.csv", content=content)

    assert (job.status, job.created_count, job.rejected_count) == ("done", 3, 0), job.errors
    juergen = Person.objects.get(last_name="Müller")
    assert (juergen.salutation, juergen.email, juergen.street, juergen.postal_code, juergen.city) == (
        "mr", "juergen.mueller@example.de", "Hauptstraße 1", "10115", "Berlin"
    )
    assert (juergen.phone.as_e164, juergen.mobile.as_e164, juergen.country.code) == ("+49301234567", "+491711234567", "DE")
    assert str(juergen.birthday) == "1970-05-06"
    assert (juergen.source, juergen.owner, juergen.lifecycle_stage) == ("import", importer, "lead")
    anna = Person.objects.get(last_name="Schmidt")
    assert (anna.country.code, anna.birthday, anna.phone, anna.street) == ("AT", None, "", "")
    for person in Person.objects.all():
        stored = (person.search_key, person.name_key)
        person.refresh_search_key()
        assert stored == (person.search_key, person.name_key) and person.search_key
        assert person.created_at and person.updated_at
    with connection.cursor() as cursor:  # blank text columns hold empty strings, not NULL
        cursor.execute("SELECT COUNT(*) FROM contacts_person WHERE phone = '' AND mobile = '' AND email_secondary = ''")
        assert cursor.fetchone()[0] == 2
    new_org = Organization.objects.get(name="Neue Firma KG")
    assert (new_org.owner, new_org.country.code, new_org.relationship) == (importer, "DE", "prospect")
    stored = (new_org.search_key, new_org.name_key)
    new_org.refresh_search_key()
    assert stored == (new_org.search_key, new_org.name_key) and new_org.name_key
    employments = {
        (e.person.last_name, e.organization, e.position, e.department, e.is_primary)
        for e in Employment.objects.select_related("person", "organization")
    }
    assert employments == {("Müller", new_org, "Leiter", "Einkauf", True), ("Schmidt", existing, "", "", True)}
    assert Organization.objects.count() == 2 and "1 organization" in job.message
    # The ids come from the tables' sequences: later rows made the ordinary way do not collide.
    imported = set(Person.objects.values_list("pk", flat=True))
    assert PersonFactory().pk not in imported and OrganizationFactory().pk not in {existing.pk, new_org.pk}
