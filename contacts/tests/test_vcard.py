"""vCard 3.0/4.0 export of one person and of the filtered people list, and .vcf files through the import."""

from datetime import date
from pathlib import Path

import pytest
import vobject
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from contacts.models import ImportJob, Person
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from crm.roles import EXPORT_ROLES, Role

VCARDS = Path(__file__).parent / "data" / "vcards"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def exporter(role_users):
    return role_users[Role.MARKETING]


@pytest.fixture
def import_vcf(client_for, exporter, django_capture_on_commit_callbacks):
    """Upload a .vcf file, keep the mapping the upload made, start: the journey of a CSV import."""

    def run(name: str, content: bytes | None = None, *, target: str = "person"):
        client = client_for(exporter)
        data = content if content is not None else (VCARDS / name).read_bytes()
        response = client.post(
            reverse("contacts:import_upload"), {"target": target, "file": SimpleUploadedFile(name, data, content_type="text/vcard")}
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        job = ImportJob.objects.order_by("-pk").first()
        assert job.file_format == ImportJob.Format.VCARD
        response = client.get(reverse("contacts:import_mapping", args=[job.pk]))
        assert response.status_code == 200
        mapping_form = {f"column_{index}": name for name, index in job.mapping.items()}
        response = client.post(reverse("contacts:import_mapping", args=[job.pk]), mapping_form)
        assert response.status_code == 302
        preview = client.get(reverse("contacts:import_preview", args=[job.pk]))
        assert preview.status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("contacts:import_preview", args=[job.pk]))
        job.refresh_from_db()
        return job, preview

    return run


def cards_of(content: bytes) -> list:
    return list(vobject.readComponents(content.decode("utf-8")))


@pytest.fixture
def joerg():
    person = PersonFactory(
        salutation=Person.Salutation.MR, academic_title=Person.AcademicTitle.DR, first_name="Jörg", last_name="Müller-Lüdenscheidt",
        email="joerg@mueller.example", email_secondary="j.mueller@baeckerei-oez.example",
        phone="+49 221 9876543", mobile="+49 171 2345678", street="Hohenzollernring 12", postal_code="50672", city="Köln",
        birthday=date(1975, 3, 14), description="Möchte ein Angebot, gern per E-Mail; Rückruf bis Freitag.",
    )
    EmploymentFactory(person=person, organization=OrganizationFactory(name="Bäckerei Öztürk GmbH"), position="Leiter Einkauf", department="Einkauf")
    return person


# --- Export ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "bday", "pref_email"), [("3.0", "1975-03-14", "TYPE"), ("4.0", "19750314", "PREF")])
def test_one_persons_vcard_carries_every_field(client_for, role_users, joerg, version, bday, pref_email):
    response = client_for(role_users[Role.SALES_REP]).get(reverse("contacts:person_vcard", args=[joerg.pk]) + f"?version={version}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dr-jorg-muller-ludenscheidt.vcf"'
    [card] = cards_of(response.content)
    assert card.version.value == version
    assert (card.n.value.family, card.n.value.given, card.n.value.prefix) == ("Müller-Lüdenscheidt", "Jörg", "Mr Dr.")
    emails = card.contents["email"]
    assert [e.value for e in emails] == ["joerg@mueller.example", "j.mueller@baeckerei-oez.example"]
    if pref_email == "TYPE":
        assert emails[0].params["TYPE"] == ["INTERNET", "PREF"]
    else:
        assert emails[0].params["PREF"] == ["1"]
    phones = {tuple(t.upper() for t in line.params["TYPE"]): line.value for line in card.contents["tel"]}
    assert phones[("WORK", "VOICE", "PREF") if version == "3.0" else ("WORK", "VOICE")] == "+49 221 9876543"
    assert phones[("CELL",)] == "+49 171 2345678"
    assert card.org.value == ["Bäckerei Öztürk GmbH", "Einkauf"]
    assert card.title.value == "Leiter Einkauf"
    assert card.bday.value == bday
    address = card.adr.value
    assert (address.street, address.code, address.city, address.country) == ("Hohenzollernring 12", "50672", "Köln", "Germany")
    assert card.note.value == "Möchte ein Angebot, gern per E-Mail; Rückruf bis Freitag."
    assert card.uid.value.startswith("urn:uuid:")


def test_the_uid_of_a_person_stays_the_same(client_for, exporter, joerg):
    client = client_for(exporter)
    first = cards_of(client.get(reverse("contacts:person_vcard", args=[joerg.pk])).content)[0].uid.value
    second = cards_of(client.get(reverse("contacts:person_vcard", args=[joerg.pk]) + "?version=4.0").content)[0].uid.value
    other = cards_of(client.get(reverse("contacts:person_vcard", args=[PersonFactory().pk])).content)[0].uid.value
    assert first == second != other


def test_a_long_line_is_folded_and_reads_back(client_for, exporter):
    person = PersonFactory(last_name="Weiß", description="Äußerst wichtiger Kunde. " * 20)
    content = client_for(exporter).get(reverse("contacts:person_vcard", args=[person.pk])).content
    assert max(len(line) for line in content.split(b"\r\n")) <= 76  # 75 octets and the fold's space
    assert cards_of(content)[0].note.value == person.description


def test_the_list_vcard_export_applies_the_list_filters(client_for, exporter):
    PersonFactory(last_name="Kundin", lifecycle_stage=Person.Lifecycle.CUSTOMER, city="Berlin")
    PersonFactory(last_name="Interessent", lifecycle_stage=Person.Lifecycle.LEAD, city="Berlin")
    PersonFactory(last_name="Hamburger", lifecycle_stage=Person.Lifecycle.CUSTOMER, city="Hamburg")
    employee = EmploymentFactory(person__last_name="Angestellt").person
    client = client_for(exporter)

    def names(query):
        response = client.get(reverse("contacts:person_export_vcard") + query)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="people-')
        return [card.n.value.family for card in cards_of(b"".join(response.streaming_content))]

    assert names("?lifecycle_stage=customer&version=4.0") == ["Hamburger", "Kundin"]
    assert names("?lifecycle_stage=customer&q=berlin") == ["Kundin"]
    assert names(f"?organization={employee.employments.get().organization_id}") == ["Angestellt"]
    assert len(names("")) == 4


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD])
def test_a_role_that_may_not_export_gets_403_for_the_list(client_for, role_users, role):
    assert role not in EXPORT_ROLES
    PersonFactory()
    response = client_for(role_users[role]).get(reverse("contacts:person_export_vcard"))
    assert response.status_code == 403
    # The CSV export answers the same.
    assert client_for(role_users[role]).get(reverse("contacts:person_export")).status_code == 403


def test_a_user_without_a_crm_role_gets_no_single_vcard(client_for, django_user_model, joerg):
    outsider = django_user_model.objects.create_user("nobody", password="x")
    response = client_for(outsider).get(reverse("contacts:person_vcard", args=[joerg.pk]))
    assert response.status_code in (403, 404)
    assert b"BEGIN:VCARD" not in response.content


def test_the_pages_offer_the_vcard_downloads(client_for, role_users, joerg):
    page = client_for(role_users[Role.MARKETING]).get(reverse("contacts:person_list")).content.decode()
    assert reverse("contacts:person_export_vcard") in page
    page = client_for(role_users[Role.SALES_REP]).get(reverse("contacts:person_list")).content.decode()
    assert reverse("contacts:person_export_vcard") not in page
    page = client_for(role_users[Role.SALES_REP]).get(joerg.get_absolute_url()).content.decode()
    assert reverse("contacts:person_vcard", args=[joerg.pk]) + "?version=4.0" in page


def test_the_list_export_needs_a_constant_number_of_queries(client_for, exporter, django_assert_max_num_queries):
    for _index in range(30):
        EmploymentFactory()
    client = client_for(exporter)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("contacts:person_export_vcard"))
        assert len(cards_of(b"".join(response.streaming_content))) == 30


# --- Round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_an_exported_vcard_imports_back_into_the_same_person(client_for, exporter, joerg, import_vcf, version):
    content = client_for(exporter).get(reverse("contacts:person_vcard", args=[joerg.pk]) + f"?version={version}").content
    before = Person.objects.values(
        "salutation", "academic_title", "first_name", "last_name", "email", "email_secondary", "phone", "mobile",
        "street", "postal_code", "city", "country", "birthday", "description",
    ).get(pk=joerg.pk)

    job, _preview = import_vcf("joerg.vcf", content)
    assert (job.status, job.created_count, job.skipped_count) == (ImportJob.Status.DONE, 0, 1)  # the same emails: present

    Person.objects.filter(pk=joerg.pk).delete()
    job, _preview = import_vcf("joerg.vcf", content)
    assert (job.status, job.created_count, job.rejected_count) == (ImportJob.Status.DONE, 1, 0), job.errors
    again = Person.objects.get(email="joerg@mueller.example")
    after = Person.objects.values(*before).get(pk=again.pk)
    assert after == before
    employment = again.employments.select_related("organization").get()
    assert (employment.organization.name, employment.position, employment.department) == ("Bäckerei Öztürk GmbH", "Leiter Einkauf", "Einkauf")


def test_a_list_export_of_many_people_imports_back_completely(client_for, exporter, import_vcf):
    for index in range(25):
        PersonFactory(first_name="Jürgen", last_name=f"Größer{index}", email=f"j{index}@straße.example".replace("ß", "ss"))
    content = b"".join(client_for(exporter).get(reverse("contacts:person_export_vcard")).streaming_content)
    Person.objects.all().delete()
    job, _preview = import_vcf("alle.vcf", content)
    assert (job.created_count, job.rejected_count, job.total_rows) == (25, 0, 25)
    assert sorted(Person.objects.values_list("last_name", flat=True)) == sorted(f"Größer{i}" for i in range(25))


# --- Cards from other programs -------------------------------------------------------------


def test_it_imports_apple_contacts_cards(import_vcf):
    job, _preview = import_vcf("apple_contacts.vcf")
    assert (job.created_count, job.rejected_count) == (2, 0), job.errors
    joerg = Person.objects.get(last_name="Müller")
    assert (joerg.first_name, joerg.academic_title) == ("Jörg Maria", Person.AcademicTitle.DR)
    assert (joerg.email, joerg.email_secondary) == ("joerg.mueller@baeckerei-oeztuerk.de", "joerg@mueller-privat.de")  # pref first
    assert (joerg.phone.as_e164, joerg.mobile.as_e164) == ("+492219876543", "+491712345678")
    assert (joerg.street, joerg.postal_code, joerg.city, joerg.country.code) == ("Hohenzollernring 12", "50672", "Köln", "DE")
    assert joerg.birthday == date(1975, 3, 14)
    # The folded NOTE line is one text again, its escaped comma a comma.
    assert joerg.description == "Kennt uns von der Messe in Düsseldorf. Möchte im Frühjahr ein Angebot für die neue Filiale, gern per E-Mail."
    employment = joerg.employments.select_related("organization").get()
    assert (employment.organization.name, employment.department, employment.position) == ("Bäckerei Öztürk GmbH", "Vertrieb", "Leiter Vertrieb")
    renate = Person.objects.get(last_name="Krüger")
    assert renate.birthday is None  # Apple's "no year" birthday cannot be stored, and is kept in the notes
    assert renate.description == "Birthday without a year: 1604-08-01"


def test_importing_apple_contacts_cards_again_adds_nothing(import_vcf):
    import_vcf("apple_contacts.vcf")

    again, _preview = import_vcf("apple_contacts.vcf")

    assert (again.created_count, again.skipped_count, again.rejected_count) == (0, 2, 0)
    assert Person.objects.count() == 2


def test_it_imports_google_contacts_cards_and_keeps_the_extra_emails_and_phones(import_vcf):
    job, _preview = import_vcf("google_contacts.vcf")
    assert (job.created_count, job.rejected_count) == (1, 0), job.errors
    anna = Person.objects.get(last_name="Schäfer")
    assert (anna.email, anna.email_secondary) == ("anna.schaefer@gmail.com", "a.schaefer@stadtwerke-muenchen.de")
    assert (anna.phone.as_e164, anna.mobile.as_e164) == ("+49891234567", "+4915123456789")
    assert (anna.street, anna.city, anna.birthday) == ("Leopoldstraße 5", "München", date(1988, 11, 2))
    assert anna.description == "Further emails: anna@schaefer-familie.de\nFurther phone numbers: 089 7654321"


def test_it_imports_a_vcard_4_from_thunderbird(import_vcf):
    job, _preview = import_vcf("thunderbird_4.vcf")
    assert (job.created_count, job.rejected_count) == (1, 0), job.errors
    ayse = Person.objects.get(last_name="Öztürk")
    assert (ayse.first_name, ayse.salutation, ayse.academic_title) == ("Ayşe", Person.Salutation.MS, Person.AcademicTitle.PROF_DR)
    assert (ayse.email, ayse.email_secondary) == ("ayse.oeztuerk@uni-hamburg.de", "ayse@oeztuerk.example")  # PREF=1 first
    assert ayse.mobile.as_e164 == "+491701112223"  # a tel: URI
    assert (ayse.birthday, ayse.country.code, ayse.city) == (date(1970, 1, 1), "DE", "Hamburg")
    assert ayse.description == "Erstkontakt über den Kongress, Vortrag zu Datenschutz."


def test_it_imports_an_outlook_2_1_card_in_windows_1252_with_quoted_printable(import_vcf):
    assert b"K=F6nigstra=DFe" in (VCARDS / "outlook_2_1.vcf").read_bytes()
    job, _preview = import_vcf("outlook_2_1.vcf")
    assert (job.encoding, job.created_count, job.rejected_count) == ("cp1252", 1, 0)
    juergen = Person.objects.get(last_name="Weiß")
    assert (juergen.first_name, juergen.salutation, juergen.email) == ("Jürgen", Person.Salutation.MR, "j.weiss@weiss-soehne.de")
    assert (juergen.street, juergen.postal_code, juergen.city) == ("Königstraße 1", "70173", "Stuttgart")
    assert (juergen.phone.as_e164, juergen.mobile.as_e164) == ("+49711123456", "+491609876543")
    # A soft line break inside the QUOTED-PRINTABLE note, and an unescaped comma (2.1 does not escape).
    assert juergen.description == "Grüße an die Familie. Bitte vor dem Besuch anrufen, er ist oft auf Reisen."
    employment = juergen.employments.select_related("organization").get()
    assert (employment.organization.name, employment.position) == ("Weiß & Söhne KG", "Geschäftsführer")


# --- Bad input -------------------------------------------------------------------------------


def test_bad_cards_are_rejected_with_their_line_and_the_good_ones_stored(import_vcf):
    job, preview = import_vcf("broken.vcf")
    assert preview.status_code == 200
    outcomes = [(row.line, row.outcome) for row in preview.context["rows"]]
    assert outcomes == [(1, "create"), (7, "rejected"), (12, "rejected"), (17, "rejected"), (23, "rejected")]

    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.rejected_count) == (1, 4)
    errors = {entry["line"]: entry["reason"] for entry in job.errors}
    assert errors[7].startswith("This vCard cannot be read: At line 4: Failed to parse line: das ist keine vCard-Zeile")
    assert errors[12] == "Column “Last name”: a value is required."
    assert "“keine-adresse”" in errors[17] and "the date 2099-01-01 lies in the future." in errors[17]
    assert errors[23] == "This vCard has no END:VCARD line."
    assert list(Person.objects.values_list("last_name", flat=True)) == ["Gut"]


@pytest.mark.parametrize(
    ("name", "content", "field", "message"),
    [
        ("leer.vcf", b"Hallo\r\nkeine Karte\r\n", "file", "The file contains no vCard"),
        ("bild.vcf", b"\x89PNG\r\n\x1a\n\x00\x00", "file", "This is not a vCard file"),
        ("firmen.vcf", b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:A;B;;;\r\nEND:VCARD\r\n", "target", "A vCard file holds people"),
    ],
)
def test_a_bad_vcard_file_gets_a_message_at_the_field(client_for, exporter, name, content, field, message):
    target = "organization" if field == "target" else "person"
    response = client_for(exporter).post(
        reverse("contacts:import_upload"), {"target": target, "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ImportJob.objects.exists()
