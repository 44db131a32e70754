"""Custom fields: one validation for every write path, role visibility everywhere, the record
pages, the API, the history, data protection and the settings page."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contacts.models import Person
from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm import customfields, privacy
from crm.models import CustomField
from crm.roles import Role
from crm.tests.api_client import call

PERSON = "contacts.person"


def field(key="shoe_size", type="integer", model=PERSON, **kwargs):
    kwargs.setdefault("label_de", key.replace("_", " ").title())
    return CustomField.objects.create(model=model, key=key, type=type, **kwargs)


def _person_data(**overrides):
    data = {
        "salutation": "mr", "academic_title": "", "first_name": "Max", "last_name": "Mustermann",
        "email": "max@example.de", "phone": "", "mobile": "", "country": "DE",
        "preferred_language": "de", "lifecycle_stage": "lead", "source": "website", "owner": "",
        "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


# --- one value ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("type", "raw", "stored"), [
    ("text", "  Größe M ", "Größe M"),
    ("long_text", "Zeile 1\nZeile 2", "Zeile 1\nZeile 2"),
    ("integer", "42", 42),
    ("integer", 7, 7),
    ("integer", "1.000,0", 1000),
    ("decimal", "12,5", "12.5"),
    ("decimal", "1.234,56", "1234.56"),
    ("decimal", 3, "3"),
    ("money", "1234.5", "1234.50"),
    ("date", "31.12.2026", "2026-12-31"),
    ("date", datetime.date(2026, 1, 2), "2026-01-02"),
    ("boolean", "ja", True),
    ("boolean", False, False),
    ("choice", "gold", "Gold"),
    ("multiple_choice", ["Silber", "Gold"], ["Gold", "Silber"]),
    ("multiple_choice", "Gold; Silber", ["Gold", "Silber"]),
    ("url", "example.com/x", "https://example.com/x"),
    ("email", "Max@Example.DE", "max@example.de"),
    ("phone", "030 1234567", "+49301234567"),
])
def test_it_stores_good_values_as_plain_json(db, type, raw, stored):
    definition = CustomField(model=PERSON, key="x", type=type, label_de="X", choices=["Gold", "Silber"])
    assert customfields.clean_value(definition, raw) == stored


@pytest.mark.parametrize(("type", "raw"), [
    ("text", "x" * 501), ("text", {"a": 1}), ("text", "a\x00b"),
    ("integer", "zwölf"), ("integer", "1,5"), ("integer", True), ("integer", 2**60),
    ("decimal", "NaN"), ("decimal", "Infinity"), ("decimal", "1" * 20), ("decimal", [1]),
    ("money", "viel"), ("date", "31.02.2026"), ("date", "morgen"), ("date", 20260101),
    ("boolean", "vielleicht"), ("choice", "Platin"), ("multiple_choice", ["Gold", "Blech"]), ("multiple_choice", {"a": 1}),
    ("url", "javascript:alert(1)"), ("email", "kein-at"), ("phone", "kein Telefon"),
    ("person", "abc"), ("person", 999999), ("organization", -1), ("user", 10**30),
])
def test_it_refuses_bad_values_with_a_message(db, type, raw):
    definition = CustomField(model=PERSON, key="x", type=type, label_de="X", choices=["Gold", "Silber"])
    with pytest.raises(ValidationError) as error:
        customfields.clean_value(definition, raw)
    assert error.value.messages and all(error.value.messages)


def test_clean_values_applies_defaults_requires_and_keeps_what_the_user_may_not_change(db, role_users):
    field("tier", "choice", choices=["A", "B"], default="A", required=True)
    field("secret_note", "text", view_roles=[Role.SUPPORT_AGENT])
    field("score", "integer", edit_roles=[Role.SALES_MANAGER])
    rep = role_users[Role.SALES_REP]
    assert customfields.clean_values(PERSON, {}, user=rep) == {"tier": "A"}
    person = PersonFactory(custom_fields={"tier": "B", "secret_note": "nur Service", "score": 5})
    assert customfields.clean_values(PERSON, {"tier": "A"}, user=rep, instance=person) == {
        "tier": "A", "secret_note": "nur Service", "score": 5}
    with pytest.raises(ValidationError) as error:
        customfields.clean_values(PERSON, {"tier": "", "secret_note": "x", "score": 6, "nope": 1}, user=rep, instance=person)
    assert set(error.value.message_dict) == {"tier", "secret_note", "score", "nope"}
    # the same value of a field they may not change is no change
    assert customfields.clean_values(PERSON, {"score": "5"}, user=rep, instance=person)["score"] == 5


# --- the person's form and page -----------------------------------------------------------------


def test_the_form_saves_values_and_the_page_shows_them_in_the_readers_language(alice, client_for):
    field("shoe_size", "integer", group="Sport")
    field("budget", "money", group="Finanzen")
    field("member_since", "date", group="Finanzen")
    client = client_for(alice)
    response = client.post(reverse("contacts:person_create"), _person_data(
        cf_shoe_size="44", cf_budget="1.234,5", cf_member_since="2020-03-01", owner=alice.pk))
    assert response.status_code == 302, response.content.decode()[:3000]
    person = Person.objects.get(last_name="Mustermann")
    assert person.custom_fields == {"shoe_size": 44, "budget": "1234.50", "member_since": "2020-03-01"}
    body = client.get(person.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "1.234,50\xa0€" in body and "01.03.2020" in body and "Sport" in body and "Finanzen" in body


def test_a_bad_value_is_an_error_at_the_field_not_a_500(alice, client_for):
    field("shoe_size", "integer")
    field("tier", "choice", choices=["A", "B"], required=True)
    response = client_for(alice).post(reverse("contacts:person_create"), _person_data(cf_shoe_size="groß", cf_tier="Z"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "cf_shoe_size" in form.errors and "cf_tier" in form.errors
    assert not Person.objects.filter(last_name="Mustermann").exists()


def test_a_field_of_other_roles_is_neither_in_the_form_nor_on_the_page(alice, client_for):
    field("complaint_code", "text", view_roles=[Role.SUPPORT_AGENT], label_de="Reklamationscode")
    field("visible_one", "text", label_de="Für alle")
    person = PersonFactory(owner=alice, custom_fields={"complaint_code": "GEHEIM-7", "visible_one": "offen"})
    client = client_for(alice)
    body = client.get(person.get_absolute_url()).content.decode()
    assert "offen" in body and "GEHEIM-7" not in body and "Reklamationscode" not in body
    form = client.get(reverse("contacts:person_update", args=[person.pk])).context["form"]
    assert "cf_visible_one" in form.fields and "cf_complaint_code" not in form.fields
    response = client.post(reverse("contacts:person_update", args=[person.pk]), _person_data(
        last_name=person.last_name, first_name=person.first_name, email=person.email, cf_visible_one="neu",
        cf_complaint_code="überschrieben", version=person.updated_at.isoformat()))
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.custom_fields == {"complaint_code": "GEHEIM-7", "visible_one": "neu"}


def test_a_field_the_role_may_see_but_not_change_is_read_only(alice, client_for):
    field("credit_limit", "money", edit_roles=[Role.SALES_MANAGER])
    person = PersonFactory(owner=alice, custom_fields={"credit_limit": "500.00"})
    client = client_for(alice)
    form = client.get(reverse("contacts:person_update", args=[person.pk])).context["form"]
    assert form.fields["cf_credit_limit"].disabled
    client.post(reverse("contacts:person_update", args=[person.pk]), _person_data(
        last_name=person.last_name, first_name=person.first_name, email=person.email, cf_credit_limit="99999",
        version=person.updated_at.isoformat()))
    person.refresh_from_db()
    assert person.custom_fields == {"credit_limit": "500.00"}


def test_a_change_is_in_the_history_by_field(alice, client_for):
    field("shoe_size", "integer", label_de="Schuhgröße")
    person = PersonFactory(owner=alice)
    client = client_for(alice)
    client.post(reverse("contacts:person_update", args=[person.pk]), _person_data(
        last_name=person.last_name, first_name=person.first_name, email=person.email, cf_shoe_size="1200",
        version=person.updated_at.isoformat()))
    body = client.get(reverse("contacts:person_history", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Schuhgröße" in body and "1.200" in body


def test_a_reference_shows_the_name_and_must_name_a_record_the_user_sees(alice, client_for):
    field("referrer", "person", label_de="Empfohlen von")
    mine = PersonFactory(owner=alice, last_name="Empfehler")
    client = client_for(alice)
    response = client.post(reverse("contacts:person_create"), _person_data(cf_referrer=str(mine.pk + 1000)))
    assert response.status_code == 200 and "cf_referrer" in response.context["form"].errors
    response = client.post(reverse("contacts:person_create"), _person_data(cf_referrer=str(mine.pk), owner=alice.pk))
    assert response.status_code == 302
    person = Person.objects.get(last_name="Mustermann")
    assert person.custom_fields == {"referrer": mine.pk}
    assert "Empfehler" in client.get(person.get_absolute_url()).content.decode()


def _fields_with_values(people, start, stop):
    for index in range(start, stop):
        field(f"f{index}", "person" if index % 2 else "choice", choices=["A"])
    for person in people:
        person.custom_fields = {f"f{i}": people[1].pk if i % 2 else "A" for i in range(stop)}
        person.save()


@pytest.mark.parametrize("page", ["detail", "list"])
def test_query_counts_do_not_grow_with_custom_fields(alice, client_for, django_assert_max_num_queries, page):
    """Two fields or twelve (references among them, values changed in the history): the same queries."""
    people = [PersonFactory(owner=alice) for _ in range(3)]
    url = people[0].get_absolute_url() if page == "detail" else reverse("contacts:person_list")
    _fields_with_values(people, 0, 2)
    client = client_for(alice)
    client.get(url)  # warm: the content types, the session
    with django_assert_max_num_queries(60) as few:
        assert client.get(url).status_code == 200
    _fields_with_values(people, 2, 12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_organization_form_and_page(alice, client_for):
    field("branch_count", "integer", model="contacts.organization", label_de="Filialen")
    org = OrganizationFactory(owner=alice, name="Muster GmbH")
    client = client_for(alice)
    form = client.get(reverse("contacts:organization_update", args=[org.pk])).context["form"]
    assert "cf_branch_count" in form.fields
    org.custom_fields = {"branch_count": 12}
    org.save()
    assert "Filialen" in client.get(org.get_absolute_url()).content.decode()


# --- the API ------------------------------------------------------------------------------------


def test_api_reads_and_writes_custom_fields(client, alice, write_token):
    field("shoe_size", "integer")
    field("vip", "boolean")
    field("tags_x", "multiple_choice", choices=["a", "b"])
    field("hidden_x", "text", view_roles=[Role.SUPPORT_AGENT])
    person = PersonFactory(owner=alice, custom_fields={"hidden_x": "nur Service"})
    url = reverse("api:person-detail", args=[person.pk])
    data = call(client, "get", url, token=write_token).json()
    assert data["custom_fields"] == {"shoe_size": None, "vip": None, "tags_x": None}
    response = call(client, "patch", url, {"custom_fields": {"shoe_size": 43, "vip": True, "tags_x": ["b", "a"]}},
                    token=write_token)
    assert response.status_code == 200, response.content
    assert response.json()["custom_fields"] == {"shoe_size": 43, "vip": True, "tags_x": ["a", "b"]}
    person.refresh_from_db()
    assert person.custom_fields == {"hidden_x": "nur Service", "shoe_size": 43, "vip": True, "tags_x": ["a", "b"]}
    # a PATCH of another field keeps the values
    assert call(client, "patch", url, {"city": "Kiel"}, token=write_token).json()["custom_fields"]["shoe_size"] == 43
    response = call(client, "post", reverse("api:person-list"), {"last_name": "Neu", "custom_fields": {"vip": False}},
                    token=write_token)
    assert response.status_code == 201, response.content
    assert response.json()["custom_fields"]["vip"] is False


@pytest.mark.parametrize("values", [
    {"shoe_size": "groß"}, {"nope": 1}, {"hidden_x": "x"}, "kein Objekt", {"shoe_size": {"a": 1}}, [1, 2],
])
def test_api_refuses_bad_custom_fields_with_400(client, alice, write_token, values):
    field("shoe_size", "integer")
    field("hidden_x", "text", view_roles=[Role.SUPPORT_AGENT])
    person = PersonFactory(owner=alice)
    response = call(client, "patch", reverse("api:person-detail", args=[person.pk]), {"custom_fields": values},
                    token=write_token)
    assert response.status_code == 400, response.content
    assert "custom_fields" in response.json()["errors"]


# --- data protection ----------------------------------------------------------------------------


def test_export_has_the_values_and_erasure_removes_personal_ones(admin_user):
    field("allergy", "text", is_personal=True, label_de="Allergie")
    field("segment", "choice", choices=["A", "B"], label_de="Segment")
    person = PersonFactory(custom_fields={"allergy": "Nüsse", "segment": "B"})
    export = privacy.export_person(person, by=admin_user)
    assert export["sections"]["contacts.person"]["data"][0]["custom_fields"] == {"Allergie": "Nüsse", "Segment": "B"}
    privacy.erase_person(person, by=admin_user)
    person.refresh_from_db()
    assert person.custom_fields == {"segment": "B"}


# --- the settings page --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMIN])
def test_only_admins_reach_the_settings(role_users, client_for, role):
    definition = field()
    client = client_for(role_users[role])
    for name, args in [("customfield_list", []), ("customfield_create", []), ("customfield_edit", [definition.pk]),
                       ("customfield_delete", [definition.pk])]:
        assert client.get(reverse(name, args=args)).status_code == 403
    assert client.post(reverse("customfield_delete", args=[definition.pk]), {"confirm": "on"}).status_code == 403
    assert CustomField.objects.filter(pk=definition.pk).exists()


def test_admin_creates_a_field(admin_user, client_for):
    client = client_for(admin_user)
    assert client.get(reverse("customfield_list")).status_code == 200
    response = client.post(reverse("customfield_create"), {
        "model": PERSON, "label_de": "Kundenstufe", "label_en": "Tier", "key": "tier", "type": "choice",
        "choices_text": "Gold\nSilber\n", "default_text": "silber", "order": "10", "view_roles": [Role.SALES_REP],
    })
    assert response.status_code == 302, response.context["form"].errors
    definition = CustomField.objects.get(key="tier")
    assert definition.choices == ["Gold", "Silber"] and definition.default == "Silber"
    assert definition.view_roles == [Role.SALES_REP]


def test_bad_definitions_get_messages(admin_user, client_for):
    response = client_for(admin_user).post(reverse("customfield_create"), {
        "model": PERSON, "label_de": "X", "key": "1-bad", "type": "choice", "choices_text": "", "order": "1",
    })
    assert response.status_code == 200
    assert {"key", "choices_text"} <= set(response.context["form"].errors)


def test_the_type_of_a_field_with_values_cannot_change(admin_user, client_for):
    definition = field("shoe_size", "integer")
    PersonFactory(custom_fields={"shoe_size": 42})
    response = client_for(admin_user).post(reverse("customfield_edit", args=[definition.pk]), {
        "model": PERSON, "label_de": "Schuhgröße", "key": "shoe_size", "type": "text", "order": "1",
    })
    assert response.status_code == 200
    assert "1 records hold a value" in str(response.context["form"].errors["type"])
    definition.refresh_from_db()
    assert definition.type == "integer"


def test_delete_asks_with_the_count_and_removes_the_values(admin_user, client_for):
    definition = field("shoe_size", "integer")
    field("other", "text")
    people = [PersonFactory(custom_fields={"shoe_size": n, "other": "bleibt"}) for n in (40, 41)]
    client = client_for(admin_user)
    response = client.get(reverse("customfield_delete", args=[definition.pk]))
    assert b'data-testid="customfield-value-count"' in response.content and "2" in response.content.decode()
    assert client.post(reverse("customfield_delete", args=[definition.pk])).status_code == 200  # not confirmed
    assert CustomField.objects.filter(pk=definition.pk).exists()
    assert client.post(reverse("customfield_delete", args=[definition.pk]), {"confirm": "on"}).status_code == 302
    assert not CustomField.objects.filter(pk=definition.pk).exists()
    assert [Person.objects.get(pk=p.pk).custom_fields for p in people] == [{"other": "bleibt"}] * 2


def test_admin_reorders_fields(admin_user, client_for):
    field("a", "text", order=1)
    second = field("b", "text", order=2)
    client_for(admin_user).post(reverse("customfield_move", args=[second.pk]), {"direction": "up"})
    assert [d.key for d in customfields.definitions(PERSON)] == ["b", "a"]


# --- export and merge ---------------------------------------------------------------------------


def test_the_people_export_has_the_fields_the_exporter_may_see(role_users, client_for):
    import csv
    import io

    field("budget", "money", label_de="Budget", label_en="Budget")
    field("complaint_code", "text", view_roles=[Role.SUPPORT_AGENT], label_en="Complaint code")
    PersonFactory(last_name="Export", custom_fields={"budget": "1500.00", "complaint_code": "GEHEIM-7"})
    response = client_for(role_users[Role.MARKETING]).get(reverse("contacts:person_export"), HTTP_ACCEPT_LANGUAGE="en")
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    assert row["Budget"] == "1500,00"
    assert "Complaint code" not in row and "GEHEIM-7" not in content


def test_a_merge_keeps_the_survivors_values_and_fills_its_empty_ones(alice):
    from contacts.services.duplicates import person_merge

    field("shoe_size", "integer")
    field("tier", "text")
    survivor = PersonFactory(owner=alice, custom_fields={"shoe_size": 44})
    other = PersonFactory(owner=alice, custom_fields={"shoe_size": 40, "tier": "Gold"})
    person_merge(survivor=survivor, other=other, user=alice)
    survivor.refresh_from_db()
    assert survivor.custom_fields == {"shoe_size": 44, "tier": "Gold"}


# --- deals, leads, tickets, appointments ----------------------------------------------------------


def test_deal_and_lead_forms_and_pages_have_their_fields(manager, client_for):
    from sales.tests.factories import DealFactory, LeadFactory

    field("contract_no", "text", model="sales.deal", label_de="Vertragsnummer")
    field("fair", "choice", model="sales.lead", choices=["Hannover Messe", "IFA"], label_de="Messe")
    deal, lead = DealFactory(owner=manager), LeadFactory(owner=manager)
    client = client_for(manager)
    assert "cf_contract_no" in client.get(reverse("sales:deal_update", args=[deal.pk])).context["form"].fields
    form = client.get(reverse("sales:lead_update", args=[lead.pk])).context["form"]
    assert "cf_fair" in form.fields
    deal.custom_fields, lead.custom_fields = {"contract_no": "V-2026-17"}, {"fair": "IFA"}
    deal.save()
    lead.save()
    assert "V-2026-17" in client.get(deal.get_absolute_url()).content.decode()
    assert "Messe" in client.get(lead.get_absolute_url()).content.decode()


def test_lead_api_writes_through_the_same_check(client, alice):
    from crm.tests.api_client import token_for
    from sales.tests.factories import LeadFactory

    field("fair", "choice", model="sales.lead", choices=["IFA"])
    lead = LeadFactory(owner=alice)
    token = token_for(alice)
    url = reverse("api:lead-detail", args=[lead.pk])
    assert call(client, "patch", url, {"custom_fields": {"fair": "CeBIT"}}, token=token).status_code == 400
    response = call(client, "patch", url, {"custom_fields": {"fair": "ifa"}}, token=token)
    assert response.status_code == 200, response.content
    assert response.json()["custom_fields"] == {"fair": "IFA"}


def test_ticket_edit_saves_custom_fields_through_the_service(role_users, client_for):
    from service.tests.factories import TicketFactory

    agent = role_users[Role.SUPPORT_AGENT]
    field("serial_no", "text", model="service.ticket", label_de="Seriennummer")
    ticket = TicketFactory(assignee=agent)
    client = client_for(agent)
    form = client.get(reverse("service:ticket_update", args=[ticket.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"cf_serial_no": "SN-4711", "tags": [t.pk for t in ticket.tags.all()]})
    response = client.post(reverse("service:ticket_update", args=[ticket.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    ticket.refresh_from_db()
    assert ticket.custom_fields == {"serial_no": "SN-4711"}
    assert "SN-4711" in client.get(ticket.get_absolute_url()).content.decode()


def test_appointment_page_and_api_show_their_fields(role_users, client_for):
    from appointments.tests.factories import AppointmentFactory

    rep = role_users[Role.SALES_REP]
    field("room", "text", model="appointments.appointment", label_de="Raum")
    appointment = AppointmentFactory(host=rep, custom_fields={"room": "Saal 3"})
    client = client_for(rep)
    assert "Saal 3" in client.get(appointment.get_absolute_url()).content.decode()
    data = client.get(reverse("api:appointment-detail", args=[appointment.pk])).json()
    assert data["custom_fields"] == {"room": "Saal 3"}


# --- the import ---------------------------------------------------------------------------------


def test_the_import_fills_custom_fields_and_reports_bad_cells(role_users, client_for, settings, tmp_path,
                                                              django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from contacts.models import ImportJob

    settings.MEDIA_ROOT = tmp_path
    field("shoe_size", "integer", label_de="Schuhgröße")
    field("tier", "choice", choices=["Gold", "Silber"], default="Silber")
    field("complaint_code", "text", view_roles=[Role.SUPPORT_AGENT])  # not the importer's to fill
    content = ("Nachname;E-Mail;Schuhgröße;complaint_code\n"
               "Eins;eins@example.de;44;X\nZwei;zwei@example.de;riesig;Y\n").encode()
    client = client_for(role_users[Role.MARKETING])
    client.post(reverse("contacts:import_upload"),
                {"target": "person", "file": SimpleUploadedFile("p.csv", content, content_type="text/csv")})
    job = ImportJob.objects.get()
    assert job.mapping == {"last_name": 0, "email": 1, "cf:shoe_size": 2}
    client.post(reverse("contacts:import_mapping", args=[job.pk]),
                {f"column_{index}": name for name, index in job.mapping.items()})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contacts:import_preview", args=[job.pk]))
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count) == (1, 1)
    assert "Schuhgröße" in job.errors[0]["reason"]
    assert Person.objects.get(last_name="Eins").custom_fields == {"shoe_size": 44, "tier": "Silber"}
