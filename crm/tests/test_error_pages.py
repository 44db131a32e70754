"""Refused and missing pages answer inside the frame, in the user's language, with a reason and a
way on; htmx errors are shown in the page's language."""

from pathlib import Path

from django.conf import settings
from django.urls import reverse

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}


def _in_frame(html: str) -> bool:
    return 'id="global-search"' in html and 'data-testid="breadcrumbs"' in html and 'id="main"' in html


def test_a_missing_page_answers_inside_the_frame_in_german(client, alice):
    client.force_login(alice)
    response = client.get("/contacts/people/999999/", **GERMAN)
    html = response.content.decode()
    assert response.status_code == 404
    assert _in_frame(html)
    assert "Diese Seite gibt es nicht" in html
    assert "nicht für Sie freigegeben" in html  # why: it may exist but not be shared
    assert f'href="{reverse("search")}"' in html and f'href="{reverse("home")}"' in html


def test_an_unknown_address_answers_inside_the_frame_for_visitors_too(client):
    html = client.get("/gibt-es-nicht/", **GERMAN).content.decode()
    assert _in_frame(html) and "Diese Seite gibt es nicht" in html
    assert f'{reverse("login")}?next=/gibt-es-nicht/' in html


def test_a_refused_page_says_which_role_and_where_to_go_in_german(client, alice):
    client.force_login(alice)
    response = client.get(reverse("outgoing_email_list"), **GERMAN)
    html = response.content.decode()
    assert response.status_code == 403
    assert _in_frame(html)
    assert "Sie dürfen diese Seite nicht öffnen" in html
    assert "Vertriebsmitarbeiter" in html  # the role that does not allow it
    assert f'href="{reverse("home")}"' in html


def test_a_user_without_a_role_is_told_to_ask_an_admin(client, nobody):
    client.force_login(nobody)
    html = client.get(reverse("contacts:person_list"), **GERMAN).content.decode()
    assert "noch keine Rolle" in html


def test_the_api_still_answers_problem_details(client, alice):
    client.force_login(alice)
    response = client.get("/api/v1/gibt-es-nicht/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/problem+json")


def test_htmx_error_texts_come_from_the_translated_layout(client, alice):
    client.force_login(alice)
    html = client.get(reverse("home"), **GERMAN).content.decode()
    assert 'data-error-default="Auf unserer Seite ist ein Fehler aufgetreten' in html
    assert 'data-error-403="Das dürfen Sie nicht' in html
    script = (Path(settings.BASE_DIR) / "static" / "js" / "crm.js").read_text(encoding="utf-8")
    assert '"Error"' not in script and "errorDefault" in script  # no English fallback of its own
