"""Every page carries the frame: breadcrumbs, the global search box and a help button with
help written for that very page, in German and English.

The walk covers every URL name the project has, so a new page is tested the moment it is
routed; a new URL parameter makes the walk fail until `url_kwargs` knows how to fill it.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from contacts.tests.factories import TaskFactory
from crm import help as crm_help
from crm.roles import MANAGER_ROLES, Role
from crm.tests import catalogue

# Django admin has its own layout and its own help; its pages are not CRM pages.
SKIPPED_NAMESPACES = {"admin"}


def url_names(resolver=None, namespace: str = "", params: frozenset = frozenset()):
    """(view name, names of its URL parameters) for every named pattern, namespaces included."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        own = params | set(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}:{entry.namespace}".lstrip(":") if entry.namespace else namespace
            yield from url_names(entry, inner, own)
        elif entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), own


class FrameParser(HTMLParser):
    """Collects the attributes of elements by id and by data-testid."""

    def __init__(self):
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self.by_testid: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.by_id.setdefault(attributes["id"], attributes)
        if "data-testid" in attributes:
            self.by_testid.setdefault(attributes["data-testid"], attributes)


def parse(html: str) -> FrameParser:
    parser = FrameParser()
    parser.feed(html)
    return parser


@pytest.fixture
def records(db, admin_user, settings, tmp_path):
    """One of every kind of record a URL can point at, owned by the admin (each app's tests/pages.py)."""
    settings.MEDIA_ROOT = tmp_path
    return catalogue.make_records(admin_user)


def all_urls(records) -> dict[str, str]:
    """Every view name with a URL to GET; fails listing the names whose parameters are unknown."""
    known, queries = catalogue.url_kwargs(records), catalogue.url_queries(records)
    urls, unknown = {}, []
    for name, params in url_names():
        kwargs = known.get(name, {})
        if set(kwargs) != params:
            unknown.append(f"{name} (parameters {sorted(params)}, known {sorted(kwargs)})")
            continue
        urls[name] = reverse(name, kwargs=kwargs) + (f"?{queries[name]}" if name in queries else "")
    assert not unknown, "Add these pages to url_kwargs() in their app's tests/pages.py: " + ", ".join(unknown)
    stale = set(known) - set(urls)
    assert not stale, f"url_kwargs() names pages that no longer exist: {sorted(stale)}"
    return urls


def is_full_page(response) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
        and b"<html" in response.content
    )


def frame_problems(view_name: str, html: str) -> list[str]:
    found = parse(html)
    problems = []
    if "breadcrumbs" not in found.by_testid:
        problems.append("no breadcrumb trail")
    if "global-search" not in found.by_id:
        problems.append("no global search box")
    button = found.by_id.get("help-button")
    if button is None:
        problems.append("no help button")
    elif button.get("data-help-page") != view_name:
        problems.append(f"help button points at {button.get('data-help-page')!r}")
    for language in ("de", "en"):
        page = crm_help.get_page(view_name, language)
        if page is None or page.language != language:
            problems.append(f"no {language} help file ({crm_help.help_path(view_name, language)})")
    return problems


def help_sharing_problems(view_names: list[str]) -> list[str]:
    """Help is specific: no two pages share a title or a text, and English is not a copy of German."""
    problems = []
    pages = {
        language: {name: page for name in view_names if (page := crm_help.get_page(name, language))}
        for language in ("de", "en")
    }
    for language, by_name in pages.items():
        for attribute in ("title", "body_markdown"):
            names_by_value: dict[str, list[str]] = {}
            for name, page in by_name.items():
                names_by_value.setdefault(getattr(page, attribute), []).append(name)
            problems += [
                f"{language}: {', '.join(names)} share one help {attribute}"
                for names in names_by_value.values()
                if len(names) > 1
            ]
    problems += [
        f"{name}: the English help is the German text"
        for name, page in pages["en"].items()
        if name in pages["de"] and page.body_markdown == pages["de"][name].body_markdown
    ]
    return problems


def test_every_page_has_breadcrumbs_search_and_its_own_help(client, records):
    client.force_login(records["user"])
    problems, full_pages = [], []
    customer_pages = catalogue.customer_pages() | catalogue.embedded_pages()
    for name, url in sorted(all_urls(records).items()):
        response = client.get(url)
        if name in customer_pages:
            if response.status_code >= 500:
                problems.append(f"{name}: GET {url} answered {response.status_code}")
        elif is_full_page(response):
            full_pages.append(name)
            problems += [f"{name}: {p}" for p in frame_problems(name, response.content.decode())]
        elif response.status_code not in (200, 301, 302, 303, 405):
            # As an admin with every record in place, anything else means the page is broken.
            problems.append(f"{name}: GET {url} answered {response.status_code}")
        if response.streaming:
            # Consuming (not close()) lets the test client finish the request without closing
            # the test transaction's database connection.
            b"".join(response.streaming_content)
    problems += help_sharing_problems(full_pages)
    assert not problems, "\n".join(problems)
    # The walk must really have seen the pages, not only redirects.
    assert {"home", "contacts:person_detail", "contacts:organization_list", "login"} <= set(full_pages)


def test_every_help_page_is_specific(db):
    """Also the help pages of views the walk reaches only as redirects (a used import, say)."""
    names = sorted({page.page_id for language in ("de", "en") for page in crm_help.all_pages(language)})
    assert {"home", "contacts:person_detail", "contacts:task_list"} <= set(names)
    assert help_sharing_problems(names) == []


def test_login_page_has_the_frame_for_anonymous_visitors(client, db):
    response = client.get(reverse("login"))
    assert is_full_page(response)
    assert frame_problems("login", response.content.decode()) == []


def test_every_role_gets_a_start_page_with_its_own_widgets(client, role_users):
    tasks = {
        role: TaskFactory(
            subject=f"Rückruf für {role}", created_by=user, assignee=user, due_at=timezone.now() - timedelta(hours=1)
        )
        for role, user in role_users.items()
    }
    for role, user in role_users.items():
        client.force_login(user)
        response = client.get(reverse("home"))
        assert response.status_code == 200, role
        html = response.content.decode()
        found = parse(html)
        assert {"w-my-tasks", "w-my-orgs"} <= set(found.by_id), role
        assert ("w-team-tasks" in found.by_id) == (role in MANAGER_ROLES), role
        assert tasks[role].subject in html, f"{role} does not see their own task"
        # The sales manager leads the rep's team and sees the rep's overdue task; nobody else sees others' tasks.
        visible_others = {Role.SALES_REP} if role == Role.SALES_MANAGER else set()
        for other, task in tasks.items():
            if other != role:
                assert (task.subject in html) == (other in visible_others), f"{role} and the task of {other}"


EVERYONE_WIDGETS = {"w-appointments-today", "w-my-tasks", "w-my-orgs"}
ROLE_WIDGETS = {
    Role.ADMIN: EVERYONE_WIDGETS | {"w-team-tasks", "w-stale-deals", "w-new-leads", "w-members"},
    Role.SALES_MANAGER: EVERYONE_WIDGETS | {"w-team-tasks", "w-stale-deals", "w-new-leads", "w-team-pipeline", "w-team-forecast"},
    Role.SALES_REP: EVERYONE_WIDGETS | {"w-stale-deals", "w-new-leads"},
    Role.MARKETING: EVERYONE_WIDGETS | {"w-campaigns", "w-consent-growth", "w-form-leads"},
    Role.SUPPORT_LEAD: EVERYONE_WIDGETS | {"w-team-tasks", "w-my-queue", "w-sla-alarms", "w-team-backlog", "w-unassigned"},
    Role.SUPPORT_AGENT: EVERYONE_WIDGETS | {"w-my-queue", "w-sla-alarms", "w-unassigned"},
    Role.MEMBERSHIP_MANAGER: EVERYONE_WIDGETS | {"w-members"},
}


def test_each_role_gets_exactly_its_widgets(client, role_users):
    assert set(ROLE_WIDGETS) == set(Role.values)
    for role, user in role_users.items():
        client.force_login(user)
        found = parse(client.get(reverse("home")).content.decode())
        assert {key for key in found.by_id if key.startswith("w-")} == ROLE_WIDGETS[role], role


def is_api(name: str) -> bool:
    """The JSON endpoints of the API (its documentation page is a page like any other)."""
    return name.startswith("api:") or name == "api_schema"


def staff_urls(records) -> dict[str, str]:
    """Every page that needs a CRM role: not public, not a customer's page, not an account page."""
    open_to_all = catalogue.public_pages() | catalogue.customer_pages() | catalogue.account_pages()
    return {
        name: url
        for name, url in all_urls(records).items()
        if name not in open_to_all and name != "home" and not name.startswith("admin:")
    }


def test_user_without_a_role_is_refused(client, records, nobody):
    client.force_login(nobody)
    assert client.get(reverse("home")).status_code == 403
    for name, url in staff_urls(records).items():
        status = client.get(url).status_code
        # 405: POST-only views refuse the method before they look at the user; 404: the pages of
        # a record they may not see (which is every record).
        assert status in (403, 404, 405), f"{name} answered {status} to a user without a role"


def test_anonymous_visitors_are_sent_to_login(client, records):
    client.logout()
    login = reverse("login")
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(f"{login}?next=")
    for name, url in staff_urls(records).items():
        response = client.get(url)
        if response.status_code == 405:
            continue
        if is_api(name):
            # A program is not sent to a login form: 401 with the scheme to authenticate with.
            assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer"), name
            continue
        assert response.status_code == 302, f"{name} answered {response.status_code}"
        assert response["Location"].startswith(f"{login}?next="), name
