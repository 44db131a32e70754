"""Importing the files that other tools export, without mapping a column by hand.

The files in data/exports/ carry the header rows those tools write (see
contacts.services.import_shapes), with umlauts, business addresses, a note over two lines and one
bad line (an email without @) each."""

from datetime import date

import pytest
from django.urls import reverse

from contacts.models import ImportJob, Organization, Person
from contacts.services import importing
from contacts.tests.test_import import DATA, english, importer, media, run_import  # noqa: F401  (fixtures)

EXPORTS = DATA / "exports"
NOTE = "Kennt uns von der Messe in Düsseldorf.\nMöchte ein Angebot für die Filiale."

JOERG = {
    "first_name": "Jörg", "last_name": "Müller", "email": "joerg.mueller@baeckerei-oeztuerk.de",
    "email_secondary": "joerg@mueller-privat.de", "phone": "+492219876543", "mobile": "+491712345678",
    "street": "Hohenzollernring 12", "postal_code": "50672", "city": "Köln", "country": "DE",
    "birthday": date(1975, 3, 14), "description": NOTE,
    "organization": "Bäckerei Öztürk GmbH", "position": "Leiter Vertrieb", "department": "Vertrieb",
}
RENATE = {
    "first_name": "Renate", "last_name": "Krüger", "email": "renate.krueger@muessig.de", "phone": "+49211123456",
    "street": "Königsallee 2", "postal_code": "40212", "city": "Düsseldorf", "country": "DE",
    "organization": "Müßig & Söhne KG", "position": "Geschäftsführerin",
}
ZOE = {
    "first_name": "Zoë", "last_name": "Weiß", "email": "zoe.weiss@example.de", "phone": "+49403177780",
    "street": "Große Freiheit 7", "postal_code": "22767", "city": "Hamburg",
}
ADDRESS = ("street", "postal_code", "city", "country")

# file, the tool it is recognised as, the line of the bad record, what that tool's export does not carry
PEOPLE_EXPORTS = [
    ("outlook_de.csv", "Outlook (Deutsch)", 5, ()),
    ("outlook_en.csv", "Outlook (English)", 5, ()),
    ("google_contacts.csv", "Google Contacts", 7, ()),  # its mobile is "Phone 2", labelled "Mobile"
    ("google_contacts_old.csv", "Google Contacts (older layout)", 5, ("mobile",)),
    ("hubspot_contacts.csv", "HubSpot", 4, ("email_secondary", "department", "birthday", "description")),
    ("pipedrive_people.csv", "Pipedrive", 4, (*ADDRESS, "department", "birthday", "description")),
    ("salesforce_contacts.csv", "Salesforce (contacts)", 4, ("email_secondary", "description")),
    ("excel_de_ansi.csv", "", 5, ("email_secondary", "department")),
    ("excel_de_utf8.csv", "", 5, ("email_secondary", "department")),
]


def _stored(person: Person) -> dict:
    employment = person.employments.select_related("organization").first()
    return {
        "first_name": person.first_name, "last_name": person.last_name, "email": person.email,
        "email_secondary": person.email_secondary, "phone": person.phone.as_e164 if person.phone else "",
        "mobile": person.mobile.as_e164 if person.mobile else "", "street": person.street,
        "postal_code": person.postal_code, "city": person.city, "country": person.country.code or "",
        "birthday": person.birthday, "description": person.description,
        "organization": employment.organization.name if employment else "",
        "position": employment.position if employment else "", "department": employment.department if employment else "",
    }


def _expected(values: dict, missing: tuple) -> dict:
    blank = dict.fromkeys(JOERG, "")
    blank["birthday"], blank["country"] = None, "DE"  # the model's default country
    return {**blank, **{key: value for key, value in values.items() if key not in missing}}


@pytest.mark.parametrize(("name", "tool", "bad_line", "missing"), PEOPLE_EXPORTS)
def test_every_well_formed_row_of_an_export_arrives_intact(run_import, name, tool, bad_line, missing):  # noqa: F811
    job = run_import(name, content=(EXPORTS / name).read_bytes())

    assert job.status == ImportJob.Status.DONE, job.message
    assert importing.recognised_shape(job.headers) == tool
    assert (job.created_count, job.skipped_count, job.rejected_count) == (3, 0, 1), job.errors
    [error] = job.errors
    assert error["line"] == bad_line and "kein-at-zeichen.de" in error["reason"]
    for expected in (JOERG, RENATE, ZOE):
        person = Person.objects.get(email=expected["email"])
        assert _stored(person) == _expected(expected, missing)
    assert set(Organization.objects.values_list("name", flat=True)) == {"Bäckerei Öztürk GmbH", "Müßig & Söhne KG"}


@pytest.mark.parametrize(("name", "tool", "bad_line", "missing"), PEOPLE_EXPORTS)
def test_importing_an_export_again_adds_nothing(run_import, name, tool, bad_line, missing):  # noqa: F811
    content = (EXPORTS / name).read_bytes()
    run_import(name, content=content)
    people, organizations = Person.objects.count(), Organization.objects.count()

    again = run_import(name, content=content)

    assert (again.created_count, again.skipped_count, again.rejected_count) == (0, 3, 1)
    assert (Person.objects.count(), Organization.objects.count()) == (people, organizations)


def test_outlook_maps_the_business_address_and_phone_not_the_private_ones():
    headers = (EXPORTS / "outlook_de.csv").read_bytes().decode("cp1252").splitlines()[0].replace('"', "").split(",")
    mapping = importing.guess_mapping("person", headers)

    named = {field: headers[index] for field, index in mapping.items()}
    assert named == {
        "first_name": "Vorname", "last_name": "Nachname", "organization": "Firma", "department": "Abteilung",
        "position": "Position", "street": "Straße geschäftlich", "city": "Ort geschäftlich",
        "postal_code": "Postleitzahl geschäftlich", "country": "Land/Region geschäftlich",
        "phone": "Telefon geschäftlich", "mobile": "Mobiltelefon", "email": "E-Mail-Adresse",
        "email_secondary": "E-Mail 2: Adresse", "birthday": "Geburtstag", "description": "Notizen",
    }


def test_the_mapping_page_names_the_tool_the_file_comes_from(client_for, importer):  # noqa: F811
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(importer)
    upload = SimpleUploadedFile("contacts.csv", (EXPORTS / "google_contacts.csv").read_bytes(), content_type="text/csv")
    client.post(reverse("contacts:import_upload"), {"target": "person", "file": upload})
    job = ImportJob.objects.get()

    page = client.get(reverse("contacts:import_mapping", args=[job.pk])).content.decode()

    assert "The columns are those of an export from Google Contacts" in page


# --- A full-name column ---------------------------------------------------------------------


def test_a_full_name_column_is_ignored_when_the_file_has_name_columns():
    assert "full_name" not in importing.guess_mapping("person", ["Name", "Given Name", "Family Name", "E-mail 1 - Value"])
    assert "full_name" not in importing.guess_mapping("person", ["Person - Name", "Person - Last name"])
    assert importing.guess_mapping("person", ["Person - Name", "Person - Email - Work"]) == {"full_name": 0, "email": 1}
    assert importing.guess_mapping("person", ["Vollständiger Name", "E-Mail"]) == {"full_name": 0, "email": 1}


def test_a_full_name_alone_is_split_into_first_and_last_name(run_import):  # noqa: F811
    content = (
        "Person - Name,Person - Email - Work\n"
        "Jörg Müller,joerg@example.de\n"
        '"Krüger, Renate",renate@example.de\n'
        "Hans-Peter von Weißenfels,hp@example.de\n"
        "Cher,cher@example.de\n"
        ",niemand@example.de\n"
    ).encode()

    job = run_import("pipedrive.csv", content=content)

    names = dict(Person.objects.values_list("email", "first_name"))
    last = dict(Person.objects.values_list("email", "last_name"))
    assert (names["joerg@example.de"], last["joerg@example.de"]) == ("Jörg", "Müller")
    assert (names["renate@example.de"], last["renate@example.de"]) == ("Renate", "Krüger")
    assert (names["hp@example.de"], last["hp@example.de"]) == ("Hans-Peter von", "Weißenfels")
    assert (names["cher@example.de"], last["cher@example.de"]) == ("", "Cher")
    assert [(e["line"], "required" in e["reason"]) for e in job.errors] == [(6, True)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jörg Müller", {"first_name": "Jörg", "last_name": "Müller"}),
        ("  Müller ,  Jörg ", {"first_name": "Jörg", "last_name": "Müller"}),
        ("Müller", {"last_name": "Müller"}),
        ("Müller,", {"last_name": "Müller"}),
    ],
)
def test_split_full_name(value, expected):
    assert importing.split_full_name(value) == expected


# --- Values as those tools write them --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0/0/00", None), ("0.0.00", None), ("--08-01", None), ("3/14/1975", "1975-03-14"), ("14.03.1975", "1975-03-14")],
)
def test_dates_as_outlook_and_google_write_them(raw, expected):
    assert importing.past_date(raw) == expected


def test_the_first_of_several_google_values_is_taken():
    assert importing.phone("+49 221 9876543 ::: +49 221 9876500") == "+492219876543"
    assert importing.email("Joerg@Example.de ::: other@example.de") == "joerg@example.de"


# --- Google's labelled phone numbers ----------------------------------------------------------

GOOGLE_PHONES = (
    "First Name,Last Name,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value,Phone 3 - Label,Phone 3 - Value\n"
    "Anna,Öztürk,anna@example.de,* Mobile,+49 171 2345678,Work,0221 9876543,,\n"
    "Bernd,Weiß,bernd@example.de,Work,0211 123456,Mobile,0172 3456789,,\n"
    "Carla,Krüger,carla@example.de,Work Fax,0221 9876500,Home,030 1234567,Mobile,0160 1234567\n"
    "Dora,Schulz,dora@example.de,Mobile,123,Home,030 7654321,,\n"
)


def test_the_label_of_a_google_phone_number_decides_whether_it_is_the_mobile(run_import):  # noqa: F811
    job = run_import("contacts.csv", content=GOOGLE_PHONES.encode())

    numbers = {p.first_name: (p.phone.as_e164 if p.phone else "", p.mobile.as_e164 if p.mobile else "") for p in Person.objects.all()}
    assert numbers == {
        "Anna": ("+492219876543", "+491712345678"),  # the mobile first, marked primary ("* Mobile")
        "Bernd": ("+49211123456", "+491723456789"),  # the mobile in "Phone 2"
        "Carla": ("+49301234567", "+491601234567"),  # the fax is not a phone number to call
    }
    [error] = job.errors
    assert error["line"] == 5 and "Phone 1 - Value" in error["reason"] and "“123”" in error["reason"]


@pytest.mark.django_db  # the importer reads the custom fields a person has
def test_google_phone_numbers_fill_only_the_columns_the_mapping_keeps():
    headers = GOOGLE_PHONES.splitlines()[0].split(",")
    cells = GOOGLE_PHONES.splitlines()[2].split(",")  # Bernd: work, then mobile
    guessed = importing.guess_mapping("person", headers)
    assert (headers[guessed["phone"]], headers[guessed["mobile"]]) == ("Phone 1 - Value", "Phone 2 - Value")

    without_mobile = {name: index for name, index in guessed.items() if name != "mobile"}
    row = importing.RowCleaner(ImportJob(target="person", headers=headers, mapping=without_mobile)).clean(3, cells)
    assert row.values["phone"] == "+49211123456" and "mobile" not in row.values

    with_own_mobile = {**without_mobile, "mobile": headers.index("Phone 1 - Label")}  # a column the labels do not fill
    row = importing.RowCleaner(ImportJob(target="person", headers=headers, mapping=with_own_mobile)).clean(3, ["Bernd", "Weiß", "bernd@example.de", "0170 1111111", "0211 123456", "Mobile", "0172 3456789", "", ""])
    assert (row.values["phone"], row.values["mobile"]) == ("+49211123456", "+491701111111")
