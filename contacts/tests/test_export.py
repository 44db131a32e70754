"""CSV export of people and organizations."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from phonenumber_field.phonenumber import PhoneNumber

from contacts.models import Person
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory, TagFactory
from crm.downloads import safe_cell
from crm.roles import Role


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def exporter(role_users):
    return role_users[Role.MARKETING]


def download(client, url_name: str, query: str = "") -> tuple[object, bytes]:
    response = client.get(reverse(url_name) + query)
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def rows_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_people_export_is_excel_ready_csv_with_bom_and_semicolons(client_for, exporter):
    person = PersonFactory(first_name="Jörg", last_name="Müller", email="joerg@example.de", phone="+49 30 1234567", birthday="1970-05-06")
    EmploymentFactory(person=person, organization=OrganizationFactory(name="Bäckerei Öz"), position="Inhaber")

    response, content = download(client_for(exporter), "contacts:person_export")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="people-{timezone.localdate():%Y-%m-%d}.csv"'
    assert content.startswith(b"\xef\xbb\xbf")
    header = content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Salutation;Academic title;First name;Last name;Email")
    [row] = rows_of(content)
    assert (row["First name"], row["Last name"], row["Email"]) == ("Jörg", "Müller", "joerg@example.de")
    assert (row["Organization"], row["Position"], row["Birthday"]) == ("Bäckerei Öz", "Inhaber", "06.05.1970")
    assert row["Phone"] == "+49 30 1234567"  # a valid number from a phone field is written as it is
    assert row["Country"] == "DE"


def test_people_export_applies_the_list_filters(client_for, exporter):
    PersonFactory(last_name="Kundin", lifecycle_stage=Person.Lifecycle.CUSTOMER, city="Berlin")
    PersonFactory(last_name="Interessent", lifecycle_stage=Person.Lifecycle.LEAD, city="Berlin")
    PersonFactory(last_name="Hamburger", lifecycle_stage=Person.Lifecycle.CUSTOMER, city="Hamburg")
    tagged = PersonFactory(last_name="Markiert", lifecycle_stage=Person.Lifecycle.LEAD)
    tag = TagFactory(name="VIP")
    tagged.tags.add(tag)
    employee = EmploymentFactory(person__last_name="Angestellt").person
    client = client_for(exporter)

    _, content = download(client, "contacts:person_export", "?lifecycle_stage=customer")
    assert sorted(r["Last name"] for r in rows_of(content)) == ["Hamburger", "Kundin"]
    _, content = download(client, "contacts:person_export", "?lifecycle_stage=customer&q=berlin")
    assert [r["Last name"] for r in rows_of(content)] == ["Kundin"]
    _, content = download(client, "contacts:person_export", f"?tags={tag.pk}")
    assert [(r["Last name"], r["Tags"]) for r in rows_of(content)] == [("Markiert", "VIP")]
    organization = employee.employments.get().organization_id
    _, content = download(client, "contacts:person_export", f"?organization={organization}")
    assert [r["Last name"] for r in rows_of(content)] == ["Angestellt"]
    _, content = download(client, "contacts:person_export")
    assert len(rows_of(content)) == 5


def test_people_export_only_mine_uses_the_user(client_for, exporter):
    PersonFactory(last_name="Meins", owner=exporter)
    PersonFactory(last_name="Fremd")
    _, content = download(client_for(exporter), "contacts:person_export", "?mine=on")
    assert [r["Last name"] for r in rows_of(content)] == ["Meins"]
    assert rows_of(content)[0]["Owner"] == exporter.get_full_name()


def test_organization_export_has_the_main_address_and_german_numbers(client_for, exporter):
    org = OrganizationFactory(name="Acme GmbH", annual_revenue="1250000.50", employees=120, website="https://acme.de", industry="it")
    org.addresses.create(kind="billing", street="Postfach 1", city="Bonn")
    org.addresses.create(kind="main", street="Hafenstraße 5", postal_code="20457", city="Hamburg")
    OrganizationFactory(name="Andere AG", relationship="supplier")

    response, content = download(client_for(exporter), "contacts:organization_export", "?relationship=customer")

    assert response["Content-Disposition"].startswith('attachment; filename="organizations-')
    [row] = rows_of(content)
    assert (row["Name"], row["Legal form"], row["Industry"], row["Relationship"]) == ("Acme GmbH", "GmbH", "IT and software", "Customer")
    assert (row["Street and number"], row["Postal code"], row["City"]) == ("Hafenstraße 5", "20457", "Hamburg")
    assert (row["Employees"], row["Annual revenue (EUR)"]) == ("120", "1250000,50")


def test_cells_that_look_like_formulas_are_neutralised(client_for, exporter):
    PersonFactory(first_name="=HYPERLINK(\"http://evil\")", last_name="+SUM(A1)", city="@cmd", street="-1+2", email="ok@example.de")
    OrganizationFactory(name="=1+1", description="\tTab")
    client = client_for(exporter)

    _, content = download(client, "contacts:person_export")
    [row] = rows_of(content)
    assert (row["First name"], row["Last name"], row["City"], row["Street and number"]) == (
        "'=HYPERLINK(\"http://evil\")", "'+SUM(A1)", "'@cmd", "'-1+2",
    )
    assert row["Email"] == "ok@example.de"
    _, content = download(client, "contacts:organization_export")
    [row] = rows_of(content)
    assert (row["Name"], row["Description"]) == ("'=1+1", "'\tTab")


def test_phone_numbers_are_exported_without_the_formula_guard(client_for, exporter):
    PersonFactory(last_name="Wähler", phone="+49 30 1234567", mobile="+1 202 555 0123", email="w@example.de")
    OrganizationFactory(name="Rufnummer AG", phone="+49 40 3177780")
    client = client_for(exporter)

    _, content = download(client, "contacts:person_export")
    [row] = rows_of(content)
    assert (row["Phone"], row["Mobile"]) == ("+49 30 1234567", "+1 202-555-0123")
    _, content = download(client, "contacts:organization_export")
    [row] = rows_of(content)
    assert row["Phone"] == "+49 40 3177780"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PhoneNumber.from_string("+49 30 1234567"), "+49 30 1234567"),
        # Not a valid number: guarded like any text, whatever the field.
        (PhoneNumber(raw_input="+49+cmd|' /C calc'!A0"), "'+49+cmd|' /C calc'!A0"),
        # A phone-like text outside a phone field (a note, a name) is still guarded.
        ("+49 30 1234567", "'+49 30 1234567"),
        ("-1+2", "'-1+2"),
    ],
)
def test_only_valid_numbers_of_phone_fields_skip_the_guard(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("=A1", "'=A1"), ("a=b", "a=b"), ("", ""), (None, ""), (-3, "-3"), (5, "5"), (Decimal("-1.50"), "-1.50")])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_numbers_use_the_decimal_comma_in_german():
    with translation.override("de"):
        assert safe_cell(Decimal("-1234.50")) == "-1234,50"
        assert safe_cell(12.5) == "12,5"


@pytest.mark.parametrize("count", [10, 50])
def test_people_export_query_count_does_not_grow_with_rows(client_for, exporter, django_assert_max_num_queries, count):
    tag = TagFactory(name="Messe")
    for person in PersonFactory.create_batch(count):
        EmploymentFactory(person=person)
        person.tags.add(tag)
    client = client_for(exporter)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("contacts:person_export"))
        content = b"".join(response.streaming_content)
    assert len(rows_of(content)) == count


@pytest.mark.parametrize("count", [10, 50])
def test_organization_export_query_count_does_not_grow_with_rows(client_for, exporter, django_assert_max_num_queries, count):
    tag = TagFactory(name="Partner")
    for org in OrganizationFactory.create_batch(count):
        org.addresses.create(street="Weg 1", city="Köln")
        org.tags.add(tag)
    client = client_for(exporter)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("contacts:organization_export"))
        content = b"".join(response.streaming_content)
    assert len(rows_of(content)) == count


@pytest.mark.parametrize("role", [Role.SUPPORT_AGENT, Role.SUPPORT_LEAD, Role.SALES_REP])
@pytest.mark.parametrize("url_name", ["contacts:person_export", "contacts:organization_export"])
def test_roles_without_export_rights_get_403(client_for, role_users, role, url_name):
    PersonFactory()
    assert client_for(role_users[role]).get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SALES_MANAGER, Role.MARKETING])
def test_export_roles_may_export(client_for, role_users, role):
    PersonFactory(last_name="Sichtbar")
    _, content = download(client_for(role_users[role]), "contacts:person_export")
    assert [r["Last name"] for r in rows_of(content)] == ["Sichtbar"]


def test_users_without_a_crm_role_get_nothing(client_for, nobody, client):
    PersonFactory()
    assert client_for(nobody).get(reverse("contacts:person_export")).status_code == 403
    client.logout()
    response = client.get(reverse("contacts:organization_export"))
    assert response.status_code == 302 and reverse("login") in response.url
