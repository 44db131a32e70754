"""Every URL for every role: the records belong to an admin outside everybody's team, so each
role sees what it may read, and edit, import and export pages answer 403 (or 404 for another
user's import) unless the role allows them. New URLs must be classified here."""

import pytest

from crm.roles import IMPORT_ROLES, Role
from crm.tests.test_page_frame import all_urls, records  # noqa: F401  (records is a fixture)

OK = {200, 301, 302}
NOT_ALLOWED = {403}
POST_ONLY = {405}

# Pages that change a record: only its owner's side (here: admins) may open them.
EDIT_PAGES = {
    "contacts:organization_update", "contacts:organization_delete", "contacts:person_update",
    "contacts:person_delete", "contacts:person_merge", "contacts:organization_merge",
}
IMPORT_OR_EXPORT_PAGES = {
    "contacts:import_list", "contacts:import_upload", "contacts:person_export", "contacts:organization_export",
}
# Another user's import is not even visible (404); its owner is the admin.
FOREIGN_IMPORT_PAGES = {
    "contacts:import_detail", "contacts:import_mapping", "contacts:import_preview", "contacts:import_progress",
}
POST_ONLY_PAGES = {
    "logout", "contacts:activity_create", "contacts:activity_toggle_done", "contacts:activity_delete",
    "contacts:attachment_upload", "contacts:attachment_delete",
}
# Any logged-in account may look after its own password, with or without a CRM role.
ACCOUNT_PAGES = {"password_change", "password_change_done"}
PUBLIC_PAGES = {
    "login", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "help_index", "help_panel", "help_detail", "set_language",
}


def status_of(client, url) -> int:
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)  # finish the request without closing the DB connection
    return response.status_code


def expected(name: str, role: str) -> set[int]:
    if name in POST_ONLY_PAGES:
        return POST_ONLY
    if role == Role.ADMIN or name in PUBLIC_PAGES:
        return OK
    if name in EDIT_PAGES:
        return NOT_ALLOWED
    if name in IMPORT_OR_EXPORT_PAGES:
        return OK if role in IMPORT_ROLES else NOT_ALLOWED
    if name in FOREIGN_IMPORT_PAGES:
        return {404} if role in IMPORT_ROLES else NOT_ALLOWED
    return OK


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
        if name in PUBLIC_PAGES | ACCOUNT_PAGES or name.startswith("admin:"):
            continue
        status = status_of(client, url)
        if status not in {403, 404, 405}:
            leaked.append(f"{name}: {status}")
    assert not leaked, "\n".join(leaked)
