"""Every URL for every role: the records belong to an admin outside everybody's team, so each
role sees what it may read, and edit, import and export pages answer 403 (or 404 for another
user's import) unless the role allows them. New URLs must be classified here."""

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


@pytest.mark.parametrize("role", Role.values)
def test_every_url_answers_as_the_role_allows(records, role_users, client, role):  # noqa: F811
    client.force_login(role_users[role])
    wrong = []
    for name, url in sorted(all_urls(records).items()):
        if name.startswith("admin:"):
            continue
        status = status_of(client, url)
        if status not in expected(name, role):
            wrong.append(f"{name}: {status}, expected {sorted(expected(name, role))}")
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
