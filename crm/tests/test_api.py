"""The API's shared machinery over real HTTP (Django's test client): tokens, problem details,
cursor pages, ETag/If-Match, Idempotency-Key, the change feed, the token page, docs and schema."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Person
from contacts.services.duplicates import person_merge
from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm import privacy
from crm.models import ApiToken, ChangeEvent, IdempotencyKey
from crm.tests.api_client import call, token_for

PEOPLE = "/api/v1/people/"


def person_url(person) -> str:
    return reverse("api:person-detail", args=[person.pk])


# --- authentication ----------------------------------------------------------------------------


def test_it_needs_authentication(client, db):
    response = call(client, "get", PEOPLE)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == 401


def test_a_token_acts_as_its_user_and_records_its_use(client, alice):
    token = token_for(alice)
    response = call(client, "get", PEOPLE, token=token, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    stored = ApiToken.objects.get(user=alice)
    assert stored.last_used_at is not None and stored.last_used_from == "203.0.113.9"
    # Only the fingerprint is stored, never the token.
    assert token not in str(list(ApiToken.objects.values_list()))


@pytest.mark.parametrize("header", ["Bearer crm_00000000_nope", "Bearer", "Bearer a b", "Bearer ümlaut"])
def test_a_wrong_token_is_refused(client, alice, header):
    token_for(alice)
    response = client.get(PEOPLE, HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_revoked_or_expired_token_is_refused(client, alice, admin_user):
    revoked = token_for(alice)
    ApiToken.objects.get(user=alice).revoke(by=admin_user)
    expired = token_for(alice, expires_at=timezone.now() - timedelta(seconds=1))
    assert call(client, "get", PEOPLE, token=revoked).status_code == 401
    assert call(client, "get", PEOPLE, token=expired).status_code == 401


def test_a_read_token_cannot_write(client, alice):
    token = token_for(alice, scope="read")
    assert call(client, "get", PEOPLE, token=token).status_code == 200
    response = call(client, "post", PEOPLE, {"last_name": "Neu"}, token=token)
    assert response.status_code == 403
    assert not Person.objects.exists()


def test_a_user_without_a_role_gets_nothing(client, nobody):
    PersonFactory()
    response = call(client, "get", PEOPLE, token=token_for(nobody))
    assert response.status_code == 403


def test_the_session_works_and_needs_csrf_on_writes(alice):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get(PEOPLE).status_code == 200
    response = call(browser, "post", PEOPLE, {"last_name": "Ohne CSRF"})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    browser.get(reverse("api_token_list"))  # sets the CSRF cookie
    response = call(browser, "post", PEOPLE, {"last_name": "Mit CSRF"}, X_CSRFToken=browser.cookies["csrftoken"].value)
    assert response.status_code == 201, response.content


# --- problem details ---------------------------------------------------------------------------


def test_errors_are_problem_details_in_the_requests_language(client, alice, write_token):
    response = call(client, "post", PEOPLE, {"email": "kein-at"}, token=write_token, Accept_Language="de")
    assert response.status_code == 400
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["title"] == "Ungültige Anfrage"
    assert "last_name" in body["errors"] and "email" in body["errors"]
    assert body["errors"]["last_name"] == ["Dieses Feld ist zwingend erforderlich."]
    assert body["type"].startswith("/help/page/api_docs/#")


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("get", "/api/v1/nothing-here/", {}, 404),
        ("get", "/api/v1/people/999999/", {}, 404),
        ("get", "/api/v1/people/99999999999999999999999/", {}, 404),
        ("get", "/api/v1/people/abc/", {}, 404),
        ("put", PEOPLE, {"body": {}}, 405),
        ("post", PEOPLE, {"raw": b"{not json", "content_type": "application/json"}, 400),
        ("post", PEOPLE, {"raw": b"last_name=x", "content_type": "application/x-www-form-urlencoded"}, 415),
        ("post", PEOPLE, {"body": ["a list"]}, 400),
        ("get", PEOPLE + "?limit=0", {}, 400),
        ("get", PEOPLE + "?limit=x", {}, 400),
        ("get", PEOPLE + "?cursor=!!!", {}, 400),
        ("get", PEOPLE + "?cursor=eyJ2IjpbMV0sInIiOjB9", {}, 400),
        ("get", PEOPLE + "?ordering=password", {}, 400),
        ("get", PEOPLE + "?lifecycle_stage=nonsense", {}, 400),
        ("get", PEOPLE + "?owner=99999999999999999999999", {}, 400),
        ("get", "/api/v1/changes/?since=-1", {}, 400),
    ],
)
def test_bad_input_gets_a_problem_never_a_server_error(client, alice, write_token, method, url, kwargs, status):
    PersonFactory()
    response = call(client, method, url, token=write_token, **kwargs)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_a_body_over_the_limit_is_413(client, alice, write_token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = call(client, "post", PEOPLE, {"last_name": "x" * 2000}, token=write_token)
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_too_many_requests_is_429_with_retry_after(client, alice, write_token, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/min"}}
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {"api": "3/min"}
    try:
        statuses = [call(client, "get", PEOPLE, token=write_token).status_code for _ in range(4)]
        response = call(client, "get", PEOPLE, token=write_token)
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["status"] == 429


# --- cursor pages ------------------------------------------------------------------------------


def walk(client, url, token) -> list[int]:
    ids = []
    while url:
        response = call(client, "get", url, token=token)
        assert response.status_code == 200, response.content
        ids += [row["id"] for row in response.json()["results"]]
        url = response.json()["next"]
    return ids


def test_pages_follow_the_order_and_never_count(client, alice, write_token, django_assert_max_num_queries):
    people = [PersonFactory(last_name=name, first_name="A") for name in ["Müller"] * 5 + ["Becker", "Zander"] * 2]
    expected = [p.pk for p in sorted(people, key=lambda p: (p.last_name, p.first_name, p.pk))]
    assert walk(client, PEOPLE + "?limit=2", write_token) == expected
    descending = [p.pk for p in sorted(people, key=lambda p: (p.last_name, p.first_name, p.pk), reverse=True)]
    assert walk(client, PEOPLE + "?limit=3&ordering=-name", write_token) == descending


def test_a_page_is_stable_while_rows_are_added(client, alice, write_token):
    for index in range(6):
        PersonFactory(last_name=f"Name {index:02}")
    first = call(client, "get", PEOPLE + "?limit=3", token=write_token).json()
    PersonFactory(last_name="Name 00a")  # sorts into the first page, which the client has read
    second = call(client, "get", first["next"], token=write_token).json()
    assert [r["last_name"] for r in second["results"]] == ["Name 03", "Name 04", "Name 05"]
    back = call(client, "get", second["previous"], token=write_token).json()
    assert [r["last_name"] for r in back["results"]] == ["Name 00a", "Name 01", "Name 02"]


# --- concurrency ------------------------------------------------------------------------------


def test_a_stale_write_is_412_and_a_current_one_passes(client, alice, write_token):
    person = PersonFactory(owner=alice, last_name="Alt")
    etag = call(client, "get", person_url(person), token=write_token)["ETag"]
    assert etag == f'"{person.updated_at.isoformat()}"'  # the version the edit page carries
    # Someone else saves meanwhile (as on the edit page).
    person.refresh_from_db()
    person.city = "Kiel"
    person.save()
    response = call(client, "patch", person_url(person), {"last_name": "Neu"}, token=write_token, If_Match=etag)
    assert response.status_code == 412
    assert response.json()["status"] == 412
    current = call(client, "get", person_url(person), token=write_token)["ETag"]
    response = call(client, "patch", person_url(person), {"last_name": "Neu"}, token=write_token, If_Match=current)
    assert response.status_code == 200 and response["ETag"] != current
    assert call(client, "delete", person_url(person), token=write_token, If_Match=current).status_code == 412
    assert call(client, "get", person_url(person), token=write_token, If_None_Match=response["ETag"]).status_code == 304


# --- idempotency ------------------------------------------------------------------------------


def test_a_retried_post_creates_nothing_twice(client, alice, write_token):
    body = {"last_name": "Einmal", "email": "einmal@example.de"}
    first = call(client, "post", PEOPLE, body, token=write_token, Idempotency_Key="k-1")
    again = call(client, "post", PEOPLE, body, token=write_token, Idempotency_Key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Person.objects.filter(last_name="Einmal").count() == 1
    other = call(client, "post", PEOPLE, {**body, "last_name": "Anders"}, token=write_token, Idempotency_Key="k-1")
    assert other.status_code == 422
    assert Person.objects.count() == 1


def test_a_failed_post_keeps_no_key_and_keys_expire(client, alice, write_token, settings, fixed_clock):
    assert call(client, "post", PEOPLE, {"email": "x"}, token=write_token, Idempotency_Key="k-2").status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert call(client, "post", PEOPLE, {"last_name": "Jetzt"}, token=write_token, Idempotency_Key="k-2").status_code == 201
    fixed_clock.shift(timedelta(hours=settings.CRM_API_IDEMPOTENCY_HOURS + 1))
    from crm.tasks import idempotency_keys_purge

    assert idempotency_keys_purge() == 1
    assert not IdempotencyKey.objects.exists()


def test_each_user_has_their_own_keys(client, alice, bob):
    body = {"last_name": "Gleich"}
    assert call(client, "post", PEOPLE, body, token=token_for(alice), Idempotency_Key="same").status_code == 201
    assert call(client, "post", PEOPLE, body, token=token_for(bob), Idempotency_Key="same").status_code == 201
    assert Person.objects.filter(last_name="Gleich").count() == 2


# --- the change feed ---------------------------------------------------------------------------


def feed(client, token, since=0) -> list[dict]:
    return call(client, "get", f"/api/v1/changes/?since={since}", token=token).json()["results"]


def test_the_feed_lists_creates_updates_deletes_merges_and_erasures(client, admin_user):
    token = token_for(admin_user)
    keep = PersonFactory(last_name="Müller", email="keep@example.de")
    twin = PersonFactory(last_name="Mueller", email="twin@example.de")
    gone = PersonFactory(last_name="Weg")
    erased = PersonFactory(last_name="Geheim", email="geheim@example.de")
    org = OrganizationFactory(name="Acme")
    start = ChangeEvent.objects.order_by("pk").last().pk
    keep.city = "Ulm"
    keep.save()
    person_merge(survivor=keep, other=twin, user=admin_user)
    gone_id, org_id = gone.pk, org.pk
    gone.delete()
    privacy.erase_person(erased, by=admin_user)
    org.delete()
    entries = [(e["kind"], e["object_id"], e["action"], e["survivor_id"], e["reason"]) for e in feed(client, token, start)]
    assert ("person", keep.pk, "updated", None, "") in entries
    assert ("person", twin.pk, "merged", keep.pk, "") in entries
    assert ("person", twin.pk, "deleted", None, "") not in entries
    assert ("person", gone_id, "deleted", None, "") in entries
    assert ("person", erased.pk, "deleted", None, "erased") in entries
    assert ("organization", org_id, "deleted", None, "") in entries
    # An erasure leaves no personal data in the feed.
    assert "Geheim" not in str(ChangeEvent.objects.values_list()) and "geheim@" not in str(feed(client, token))


def test_api_writes_appear_in_the_feed_and_the_feed_pages(client, alice, write_token):
    created = call(client, "post", PEOPLE, {"last_name": "Feed"}, token=write_token).json()
    call(client, "patch", f"{PEOPLE}{created['id']}/", {"city": "Bonn"}, token=write_token)
    call(client, "delete", f"{PEOPLE}{created['id']}/", token=write_token)
    entries = feed(client, write_token)
    assert [(e["object_id"], e["action"]) for e in entries] == [
        (created["id"], "created"), (created["id"], "updated"), (created["id"], "deleted")]
    page = call(client, "get", "/api/v1/changes/?limit=2", token=write_token).json()
    assert page["more"] is True and len(page["results"]) == 2
    rest = call(client, "get", page["next"], token=write_token).json()
    assert [e["action"] for e in rest["results"]] == ["deleted"] and rest["more"] is False


def test_the_feed_is_written_in_the_changes_transaction(alice):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        PersonFactory(last_name="Rollback")
        raise RuntimeError
    assert not ChangeEvent.objects.exists()


def test_the_feed_shows_nothing_to_a_user_without_a_role(client, nobody):
    PersonFactory()
    response = call(client, "get", "/api/v1/changes/", token=token_for(nobody))
    assert response.status_code == 403
    assert not ChangeEvent.objects.visible_to(nobody).exists()


# --- the token page ----------------------------------------------------------------------------


def test_a_user_makes_a_token_sees_it_once_and_revokes_it(client, alice):
    client.force_login(alice)
    page = reverse("api_token_list")
    response = client.post(page, {"name": "Webshop", "scope": "read"})
    assert response.status_code == 200
    secret = response.context["new_token"].secret
    assert secret in response.content.decode()
    assert secret not in client.get(page).content.decode()  # shown once
    assert call(client, "get", PEOPLE, token=secret).status_code == 200
    token = ApiToken.objects.get(user=alice)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    client.logout()
    assert call(client, "get", PEOPLE, token=secret).status_code == 401


def test_bad_token_form_input_is_shown_next_to_the_field(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api_token_list"), {"name": "", "scope": "root", "expires_on": "2000-01-01"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "scope", "expires_on"}
    assert not ApiToken.objects.exists()


def test_others_cannot_see_or_revoke_a_token_but_admins_can(client, alice, bob, admin_user):
    token_for(alice)
    token = ApiToken.objects.get(user=alice)
    client.force_login(bob)
    assert token.name not in client.get(reverse("api_token_list")).content.decode()
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    client.force_login(admin_user)
    assert token.name in client.get(reverse("api_token_list")).content.decode()
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user


def test_admins_revoke_tokens_in_the_administration(client, alice, admin_user):
    token_for(alice)
    token = ApiToken.objects.get(user=alice)
    client.force_login(admin_user)
    changelist = reverse("admin:crm_apitoken_changelist")
    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- schema and docs ---------------------------------------------------------------------------


def test_the_schema_and_the_docs_are_served_from_our_own_files(client, alice):
    client.force_login(alice)
    schema = client.get(reverse("api_schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/people/", "/api/v1/people/{id}/", "/api/v1/people/batch/", "/api/v1/changes/"} <= set(paths)
    docs = client.get(reverse("api_docs"))
    html = docs.content.decode()
    assert docs.status_code == 200 and "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "http" not in html.split("swagger-ui-bundle.js")[0].rsplit("src=", 1)[-1]  # no CDN
    script = client.get(reverse("api_docs") + "?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
