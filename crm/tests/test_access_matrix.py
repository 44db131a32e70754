"""Every URL for every role: the records belong to an admin outside everybody's team, so each
role sees what it may read, and edit, import and export pages answer 403 (or 404 for another
user's import) unless the role allows them. New URLs must be classified here.

A record a role may not see answers 404 on all of its URLs, edit pages and POST actions included
(a 403 there would tell that it exists); 403 is only for records the role sees but may not change."""

import pytest

from crm.roles import Role
from crm.tests import catalogue
from crm.tests.test_page_frame import all_urls, records  # noqa: F401  (records is a fixture)

OK = {200, 301, 302}
POST_ONLY = {405}


def status_of(client, url) -> int:
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)  # finish the request without closing the DB connection
    return response.status_code


def expected(name: str, role: str) -> set[int]:
    if name in catalogue.post_only_pages():
        return POST_ONLY
    if name in catalogue.public_pages() | catalogue.customer_pages():
        return OK
    answer = catalogue.expected(name, role)
    return OK if answer is None else answer


def hidden_record_leaks(client, urls: dict[str, str], statuses: dict[str, int]) -> list[str]:
    """A record the user may not see answers 404 on every URL of it: the URLs below the path of
    a page that answered 404 (its edit page, its sub-pages and each POST action, posted empty)."""
    leaks = []
    for page, page_url in urls.items():
        if statuses.get(page) != 404 or "?" in page_url or page_url.count("/") < 3:
            continue
        for name, url in urls.items():
            if name == page or name not in statuses or not url.startswith(page_url):
                continue
            status = statuses[name] if statuses[name] != 405 else client.post(url).status_code
            if status != 404:
                leaks.append(f"{name}: {status}, but {page} is 404")
    return leaks


@pytest.mark.parametrize("role", Role.values)
def test_every_url_answers_as_the_role_allows(records, role_users, client, role):  # noqa: F811
    client.force_login(role_users[role])
    urls = {name: url for name, url in sorted(all_urls(records).items()) if not name.startswith("admin:")}
    statuses = {name: status_of(client, url) for name, url in urls.items()}
    wrong = [
        f"{name}: {status}, expected {sorted(expected(name, role))}"
        for name, status in statuses.items()
        if status not in expected(name, role)
    ]
    wrong += hidden_record_leaks(client, urls, statuses)
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_user_without_role_gets_nothing_but_public_pages(records, nobody, client):  # noqa: F811
    client.force_login(nobody)
    leaked = []
    for name, url in sorted(all_urls(records).items()):
        open_to_all = catalogue.public_pages() | catalogue.customer_pages() | catalogue.account_pages()
        if name in open_to_all or name.startswith("admin:"):
            continue
        status = status_of(client, url)
        if status not in {403, 404, 405}:
            leaked.append(f"{name}: {status}")
    assert not leaked, "\n".join(leaked)


# --- API writes of the marketing and appointments rooms: each role as the pages allow ---------------

MARKETING_WRITERS = {Role.ADMIN, Role.MARKETING}
SERVICE = {Role.SUPPORT_LEAD, Role.SUPPORT_AGENT}


def marketing_and_appointment_writes(made: dict, role: str) -> list[tuple[str, str, set[int]]]:
    """(method, URL, expected statuses) with an empty body: an allowed write of an empty
    body is refused as invalid (400), or, for the one-click actions, done."""
    from django.urls import reverse

    campaign, appointment = made["campaign"], made["appointment"]
    marketing = role in MARKETING_WRITERS
    hidden = role in SERVICE or role == Role.MEMBERSHIP_MANAGER  # no campaign is visible to them
    refused = {404} if hidden else {403}
    return [
        ("post", reverse("api:campaign-list"), {400} if marketing else {403}),
        ("patch", reverse("api:campaign-detail", args=[campaign.pk]), {200} if marketing else refused),
        ("post", reverse("api:campaign-send", args=[campaign.pk]), {202} if marketing else refused),
        ("put", reverse("api:segment-detail", args=[made["segment"].pk]), {405}),
        ("post", reverse("api:consent-list"), {400} if marketing else {403}),
        ("post", reverse("api:consent-unsubscribe"), {400} if marketing else {403}),
        ("delete", reverse("api:consent-detail", args=[made["consent"].pk]), {405}),
        ("post", reverse("api:appointment-list"), {400}),  # every role books, as every role offers times
        # The admin's appointment: only the admin (the host) changes it; the others see it.
        ("patch", reverse("api:appointment-detail", args=[appointment.pk]), {200} if role == Role.ADMIN else {403}),
        ("post", reverse("api:appointment-cancel", args=[appointment.pk]), {200} if role == Role.ADMIN else {403}),
        ("delete", reverse("api:appointment-detail", args=[appointment.pk]), {405}),
    ]


@pytest.mark.parametrize("role", Role.values)
def test_marketing_and_appointment_api_writes_answer_as_the_pages_allow(records, role_users, client, role):  # noqa: F811
    from crm.tests.api_client import call

    client.force_login(role_users[role])
    wrong = []
    for method, url, statuses in marketing_and_appointment_writes(records, role):
        status = call(client, method, url, {}).status_code
        if status not in statuses:
            wrong.append(f"{method.upper()} {url}: {status}, expected {sorted(statuses)}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
