"""Every page carries the frame: breadcrumbs, the global search box and a help button with
help written for that very page, in German and English.

The walk covers every URL name the project has, so a new page is tested the moment it is
routed; a new URL parameter makes the walk fail until `url_kwargs` knows how to fill it.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from contacts.models import Attachment, ImportJob
from contacts.services import importing
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory, TaskFactory
from crm import help as crm_help
from crm.roles import MANAGER_ROLES, Role

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
    """One of every kind of record a URL can point at, owned by the admin."""
    settings.MEDIA_ROOT = tmp_path
    organization = OrganizationFactory(name="Müller Maschinenbau GmbH", owner=admin_user)
    twin_organization = OrganizationFactory(name="Müller Maschinenbau", owner=admin_user)
    person = PersonFactory(first_name="Jürgen", last_name="Müller", email="j.mueller@example.de", owner=admin_user)
    twin_person = PersonFactory(first_name="Jürgen", last_name="Mueller", email="juergen@example.de", owner=admin_user)
    EmploymentFactory(person=person, organization=organization)
    task = TaskFactory(person=person, created_by=admin_user, subject="Angebot nachfassen")
    attachment = Attachment.objects.create(
        file=ContentFile(b"Angebot 2027", name="angebot.txt"),
        name="angebot.txt",
        size=12,
        content_type="text/plain",
        person=person,
        uploaded_by=admin_user,
    )
    csv = b"Vorname;Nachname;E-Mail\nErika;Mustermann;erika@example.de\n"
    upload = SimpleUploadedFile("kontakte.csv", csv, content_type="text/csv")
    info = importing.inspect_csv(upload, name=upload.name, size=upload.size)
    uploaded_job = importing.import_create(target=ImportJob.Target.PEOPLE, upload=upload, info=info, user=admin_user)
    mapped_job = importing.import_create(target=ImportJob.Target.PEOPLE, upload=upload, info=info, user=admin_user)
    mapped_job.status = ImportJob.Status.MAPPED
    mapped_job.save(update_fields=["status"])
    return {
        "user": admin_user,
        "organization": organization,
        "twin_organization": twin_organization,
        "person": person,
        "twin_person": twin_person,
        "task": task,
        "attachment": attachment,
        "uploaded_job": uploaded_job,
        "mapped_job": mapped_job,
    }


def url_kwargs(records) -> dict[str, dict]:
    """URL kwargs by view name, for every page that takes parameters."""
    org, person, job = records["organization"], records["person"], records["uploaded_job"]
    return {
        "help_panel": {"page_id": "contacts:person_detail"},
        "help_detail": {"page_id": "contacts:person_detail"},
        # A well-formed but unused token: the page explains that the link is invalid.
        "password_reset_confirm": {
            "uidb64": urlsafe_base64_encode(force_bytes(records["user"].pk)),
            "token": default_token_generator.make_token(records["user"]) + "x",
        },
        "contacts:organization_detail": {"pk": org.pk},
        "contacts:organization_update": {"pk": org.pk},
        "contacts:organization_delete": {"pk": org.pk},
        "contacts:organization_history": {"pk": org.pk},
        "contacts:person_detail": {"pk": person.pk},
        "contacts:person_update": {"pk": person.pk},
        "contacts:person_delete": {"pk": person.pk},
        "contacts:person_history": {"pk": person.pk},
        "contacts:activity_toggle_done": {"pk": records["task"].pk},
        "contacts:activity_delete": {"pk": records["task"].pk},
        "contacts:attachment_download": {"pk": records["attachment"].pk},
        "contacts:attachment_delete": {"pk": records["attachment"].pk},
        "contacts:person_merge": {"pk": person.pk, "other_pk": records["twin_person"].pk},
        "contacts:organization_merge": {"pk": org.pk, "other_pk": records["twin_organization"].pk},
        "contacts:import_detail": {"pk": job.pk},
        "contacts:import_mapping": {"pk": job.pk},
        "contacts:import_preview": {"pk": records["mapped_job"].pk},
        "contacts:import_progress": {"pk": job.pk},
    }


def url_queries(records) -> dict[str, str]:
    """Query strings for the views that need one to show something."""
    return {
        "contacts:timeline": f"person={records['person'].pk}",
        "search": "q=mueller",
        "search_suggest": "q=mueller",
        "contacts:organization_autocomplete": "q=maschinenbau",
    }


def all_urls(records) -> dict[str, str]:
    """Every view name with a URL to GET; fails listing the names whose parameters are unknown."""
    known, queries = url_kwargs(records), url_queries(records)
    urls, unknown = {}, []
    for name, params in url_names():
        kwargs = known.get(name, {})
        if set(kwargs) != params:
            unknown.append(f"{name} (parameters {sorted(params)}, known {sorted(kwargs)})")
            continue
        urls[name] = reverse(name, kwargs=kwargs) + (f"?{queries[name]}" if name in queries else "")
    assert not unknown, "Add these pages to url_kwargs() in crm/tests/test_page_frame.py: " + ", ".join(unknown)
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
    for name, url in sorted(all_urls(records).items()):
        response = client.get(url)
        if is_full_page(response):
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


def contacts_urls(records) -> dict[str, str]:
    return {name: url for name, url in all_urls(records).items() if name.startswith("contacts:")}


def test_user_without_a_role_is_refused(client, records, nobody):
    client.force_login(nobody)
    assert client.get(reverse("home")).status_code == 403
    for name, url in contacts_urls(records).items():
        status = client.get(url).status_code
        # 405: POST-only views refuse the method before they look at the user.
        assert status in (403, 405), f"{name} answered {status} to a user without a role"


def test_anonymous_visitors_are_sent_to_login(client, records):
    client.logout()
    login = reverse("login")
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(f"{login}?next=")
    for name, url in contacts_urls(records).items():
        response = client.get(url)
        if response.status_code == 405:
            continue
        assert response.status_code == 302, f"{name} answered {response.status_code}"
        assert response["Location"].startswith(f"{login}?next="), name
