"""Odd input at every contacts form: text, huge values, wrong types and markup.
Whatever arrives, the answer is a page with messages (200/302/422), never a 500."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.tests.factories import OrganizationFactory, PersonFactory

odd_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=200, max_size=1200),
    st.sampled_from(["<script>alert(1)</script>", "' OR 1=1 --", "-1", "1e309", "NaN", "9" * 40, "\x00", "🙂", "=cmd|' /C calc'!A0"]),
    st.integers().map(str),
)

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ORGANIZATION_FIELDS = ["name", "legal_form", "relationship", "industry", "website", "email", "phone", "country",
                       "employees", "annual_revenue", "owner", "tags", "description"]
PERSON_FIELDS = ["salutation", "academic_title", "first_name", "last_name", "email", "email_secondary", "phone",
                 "mobile", "postal_code", "city", "country", "birthday", "preferred_language", "lifecycle_stage",
                 "source", "owner", "tags"]


def _payload(fields, values, rows_total):
    data = dict(zip(fields, values, strict=False))
    data.update({"rows-TOTAL_FORMS": rows_total, "rows-INITIAL_FORMS": "0", "rows-0-organization": values[0]})
    return data


@pytest.mark.django_db
@FUZZ
@given(values=st.lists(odd_text, min_size=len(ORGANIZATION_FIELDS), max_size=len(ORGANIZATION_FIELDS)),
       rows_total=st.sampled_from(["0", "1", "x", "-1", "100000"]))
def test_organization_form_never_fails(admin_user, client, values, rows_total):
    client.force_login(admin_user)
    response = client.post(reverse("contacts:organization_create"), _payload(ORGANIZATION_FIELDS, values, rows_total))
    assert response.status_code in (200, 302)


@pytest.mark.django_db
@FUZZ
@given(values=st.lists(odd_text, min_size=len(PERSON_FIELDS), max_size=len(PERSON_FIELDS)),
       rows_total=st.sampled_from(["0", "1", "x"]))
def test_person_form_never_fails(admin_user, client, values, rows_total):
    client.force_login(admin_user)
    response = client.post(reverse("contacts:person_create"), _payload(PERSON_FIELDS, values, rows_total))
    assert response.status_code in (200, 302)


@pytest.mark.django_db
@FUZZ
@given(kind=odd_text, subject=odd_text, when=odd_text, due=odd_text, form=st.sampled_from(["note", "task", "?"]))
def test_timeline_forms_never_fail(admin_user, client, kind, subject, when, due, form):
    client.force_login(admin_user)
    person = PersonFactory()
    data = {"form": form, "person": person.pk, "note-kind": kind, "note-subject": subject, "note-occurred_at": when,
            "task-subject": subject, "task-due_at": due, "task-assignee": kind}
    response = client.post(reverse("contacts:activity_create"), data, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 422)


@pytest.mark.django_db
@FUZZ
@given(params=st.dictionaries(st.sampled_from(["q", "owner", "relationship", "country", "tags", "sort", "page", "mine"]), odd_text))
def test_list_filters_never_fail(admin_user, client, params):
    client.force_login(admin_user)
    OrganizationFactory()
    for url in (reverse("contacts:organization_list"), reverse("contacts:person_list"), reverse("contacts:task_list")):
        assert client.get(url, params).status_code in (200, 404)
