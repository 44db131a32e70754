"""Importing an Excel workbook (.xlsx) through the same pages and run as a CSV file.

The workbooks are built here with openpyxl the way German Excel saves them: dates as date cells,
postal codes typed as text, a phone number typed as a number."""

import io
import zipfile
from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from contacts.models import ImportJob, Organization, Person
from contacts.services import importing, workbooks
from contacts.tests.test_import import english, importer, media, run_import  # noqa: F401  (fixtures)

HEADER = ["Anrede", "Vorname", "Nachname", "E-Mail", "Firma", "Straße", "PLZ", "Ort", "Telefon", "Geburtstag"]


def _xlsx(rows: list[list], *, sheet_title: str = "Kontakte") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(row)
    for cell in sheet["G"]:
        cell.number_format = "@"  # the postal code column formatted as text, as a careful user does
    content = io.BytesIO()
    workbook.save(content)
    return content.getvalue()


def _rewritten(content: bytes, member: str, change) -> bytes:
    """The workbook with one of its XML parts changed (what openpyxl cannot write: cached values, a DTD)."""
    source, target = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            out.writestr(info.filename, change(data) if info.filename == member else data)
    return target.getvalue()


def _contacts() -> bytes:
    return _xlsx([
        [],  # Excel files often start with an empty row; the header is the first row with something in it
        HEADER,
        ["Herr", "Jörg", "Müller", "joerg@baeckerei-oeztuerk.de", "Bäckerei Öztürk GmbH", "Königsbrücker Straße 12",
         "01067", "Dresden", 3512345678, date(1975, 3, 14)],
        ["Frau", "Renate", "Krüger", "renate.krueger@muessig.de", "Müßig & Söhne KG", "Königsallee 2",
         "40212", "Düsseldorf", "0211 123456", datetime(1980, 12, 1)],
        [],
        ["", "Zoë", "Weiß", "zoe.weiss(at)example.de", "", "", "", "", "", ""],
    ])


def test_a_workbook_is_imported_with_its_dates_postal_codes_and_numbers(run_import):  # noqa: F811
    job = run_import("kontakte.xlsx", content=_contacts())

    assert job.status == ImportJob.Status.DONE, job.message
    assert job.file_format == ImportJob.Format.XLSX and job.total_rows == 3
    assert (job.created_count, job.skipped_count, job.rejected_count) == (2, 0, 1)
    [error] = job.errors
    assert error["line"] == 6 and "zoe.weiss(at)example.de" in error["reason"]  # the row number Excel shows
    joerg = Person.objects.get(email="joerg@baeckerei-oeztuerk.de")
    assert (joerg.salutation, joerg.first_name, joerg.last_name) == ("mr", "Jörg", "Müller")
    assert (joerg.street, joerg.postal_code, joerg.city) == ("Königsbrücker Straße 12", "01067", "Dresden")
    assert joerg.phone.as_e164 == "+493512345678"  # a number cell: its digits, no "3512345678.0"
    assert joerg.birthday == date(1975, 3, 14)
    renate = Person.objects.get(email="renate.krueger@muessig.de")
    assert renate.birthday == date(1980, 12, 1) and renate.phone.as_e164 == "+49211123456"
    assert set(Organization.objects.values_list("name", flat=True)) == {"Bäckerei Öztürk GmbH", "Müßig & Söhne KG"}


def test_importing_a_workbook_again_adds_nothing(run_import):  # noqa: F811
    run_import("kontakte.xlsx", content=_contacts())
    people, organizations = Person.objects.count(), Organization.objects.count()

    again = run_import("kontakte.xlsx", content=_contacts())

    assert (again.created_count, again.skipped_count, again.rejected_count) == (0, 2, 1)
    assert (Person.objects.count(), Organization.objects.count()) == (people, organizations)


def test_the_mapping_page_shows_the_workbooks_columns_and_examples(client_for, importer):  # noqa: F811
    client = client_for(importer)
    client.post(reverse("contacts:import_upload"), {"target": "person", "file": SimpleUploadedFile("k.xlsx", _contacts())})
    job = ImportJob.objects.get()

    page = client.get(reverse("contacts:import_mapping", args=[job.pk])).content.decode()

    assert job.headers == HEADER
    assert {name: job.headers[index] for name, index in job.mapping.items()}["postal_code"] == "PLZ"
    assert "Königsbrücker Straße 12" in page and "1975-03-14" in page and "01067" in page


def test_a_formula_is_read_as_the_value_excel_saved_with_it():
    content = _xlsx([["Nachname", "Ort"], ["Müller", "=A2"]])
    # openpyxl writes formulas without a result; Excel stores the last one next to the formula.
    content = _rewritten(content, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<f>A2</f><v></v>", b'<f>A2</f><v>K\xc3\xb6ln</v>').replace(b'<c r="B2">', b'<c r="B2" t="str">'))

    assert list(workbooks.records(io.BytesIO(content), width=2)) == [(2, ["Müller", "Köln"])]


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("01067", "01067"), (1067, "1067"), (3512345678.0, "3512345678"), (2.5, "2.5"), (True, "TRUE"),
     (date(1975, 3, 14), "1975-03-14"), (datetime(1975, 3, 14), "1975-03-14"), (datetime(2026, 1, 2, 9, 30), "2026-01-02 09:30:00")],
)
def test_cells_read_as_a_csv_export_would_write_them(value, text):
    assert workbooks.cell_text(value) == text


def _upload(client, name: str, content: bytes):
    return client.post(reverse("contacts:import_upload"), {"target": "person", "file": SimpleUploadedFile(name, content)})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not really", "This is not a valid Excel workbook (.xlsx)."),
        (_contacts()[:2000], "This is not a valid Excel workbook (.xlsx)."),  # cut off during the upload
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "Is it password-protected or damaged?"),  # an encrypted workbook
        (_rewritten(_contacts(), "xl/workbook.xml", lambda xml: b"<broken"), "This is not a valid Excel workbook (.xlsx)."),
        (_xlsx([]), "The first sheet of the workbook is empty."),
        (_xlsx([HEADER]), "The file has a header line but no data lines."),
        (_xlsx([["Max", "Mustermann", "max@example.de"]]), "looks like data"),
    ],
)
def test_a_broken_workbook_gets_a_message_at_the_field(client_for, importer, content, message):  # noqa: F811
    response = _upload(client_for(importer), "kontakte.xlsx", content)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()


def test_a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read(client_for, importer, monkeypatch):  # noqa: F811
    monkeypatch.setattr(workbooks, "MAX_UNCOMPRESSED_BYTES", 2000)

    response = _upload(client_for(importer), "kontakte.xlsx", _contacts())

    assert "The workbook unpacks to more than" in " ".join(response.context["form"].errors["file"])


def test_a_workbook_with_xml_entities_is_refused(client_for, importer):  # noqa: F811
    """defusedxml: no entity expansion ("billion laughs"), no external entities."""
    content = _rewritten(
        _xlsx([["Nachname"], ["Schulze"]]), "xl/worksheets/sheet1.xml",
        lambda xml: b'<!DOCTYPE worksheet [<!ENTITY a "Schulze">]>' + xml.replace(b"Schulze", b"&a;"),
    )

    response = _upload(client_for(importer), "kontakte.xlsx", content)

    assert "This is not a valid Excel workbook" in " ".join(response.context["form"].errors["file"])


def test_a_sheet_over_the_row_limit_is_refused(monkeypatch):
    monkeypatch.setattr(workbooks, "MAX_ROWS", 3)
    upload = SimpleUploadedFile("k.xlsx", _xlsx([["Nachname"], ["A"], ["B"], ["C"]]))

    with pytest.raises(ValidationError, match="more than 3 rows"):
        importing.inspect_upload(upload, name=upload.name, size=upload.size)


def test_a_workbook_over_50_mb_is_refused():
    upload = SimpleUploadedFile("k.xlsx", _contacts())

    with pytest.raises(ValidationError, match="larger than 50 MB"):
        importing.inspect_upload(upload, name="k.xlsx", size=importing.MAX_UPLOAD_BYTES + 1)


def test_only_the_first_sheet_is_read():
    workbook = Workbook()
    workbook.active.append(["Nachname"])
    workbook.active.append(["Müller"])
    workbook.create_sheet("Notizen").append(["nicht importieren"])
    content = io.BytesIO()
    workbook.save(content)

    assert list(workbooks.records(content, width=1)) == [(2, ["Müller"])]
