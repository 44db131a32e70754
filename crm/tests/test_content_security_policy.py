"""The Content-Security-Policy: every HTML response carries it with a fresh nonce, and no page
needs more than it allows: no inline script without that nonce, no inline event handler, no
style attribute (style-src 'self'). The walk covers every catalogued page as the admin, the
customers' pages as a visitor, htmx fragments, and Django's admin. The browser test
(test_browser_csp.py) shows that the pages also work under the policy."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from crm.tests import catalogue
from crm.tests.test_page_frame import all_urls, records  # noqa: F401  (records is a fixture)

NONCE = re.compile(r"script-src 'nonce-([A-Za-z0-9+/=]+)'")
HTMX = {"HX-Request": "true"}


class InlineCode(HTMLParser):
    """Collects what a strict policy would block: scripts without the nonce, on* handlers, style=."""

    def __init__(self, nonce: str, own_files: bool = False):
        super().__init__()
        self.nonce, self.own_files = nonce, own_files  # own_files: script-src also has 'self'
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        own_file = self.own_files and (attributes.get("src") or "").startswith("/") and not attributes["src"].startswith("//")
        if (
            tag == "script" and attributes.get("type") != "application/json"
            and attributes.get("nonce") != self.nonce and not own_file
        ):
            self.problems.append(f"<script> without the nonce: {attributes}")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline handler <{tag} {name}={value!r}>")
            if name == "style":
                self.problems.append(f"style attribute <{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL <{tag} {name}={value!r}>")


def policy_problems(response) -> list[str]:
    if not response.get("Content-Type", "").startswith("text/html") or response.streaming:
        return []
    policy = response.get("Content-Security-Policy", "")
    match = NONCE.search(policy)
    if not match:
        return [f"no policy with a nonce: {policy!r}"]
    problems = [f"policy allows {word}" for word in ("'unsafe-inline'", "'unsafe-eval'") if word in policy]
    if "frame-ancestors" not in policy or "object-src 'none'" not in policy or "base-uri 'none'" not in policy:
        problems.append(f"policy lacks frame-ancestors, object-src or base-uri: {policy!r}")
    script_src = policy.split("script-src", 1)[1].split(";", 1)[0]
    parser = InlineCode(match.group(1), own_files="'self'" in script_src)
    parser.feed(response.content.decode())
    return problems + parser.problems


def walk(client, urls: dict[str, str], headers=None) -> list[str]:
    problems = []
    for name, url in sorted(urls.items()):
        response = client.get(url, headers=headers or {})
        problems += [f"{name} ({url}): {problem}" for problem in policy_problems(response)]
        if response.streaming:
            b"".join(response.streaming_content)
    return problems


@pytest.mark.engine_independent  # response headers and markup: the Postgres pass checks them
def test_every_staff_page_and_fragment_carries_the_policy_and_needs_nothing_it_forbids(client, records):  # noqa: F811
    client.force_login(records["user"])
    urls = {name: url for name, url in all_urls(records).items() if name not in catalogue.embedded_pages()}
    problems = walk(client, urls) + walk(client, urls, HTMX)
    assert not problems, "\n".join(problems)


def test_every_customer_page_carries_the_policy(client, records):  # noqa: F811
    urls = {name: url for name, url in all_urls(records).items() if name in catalogue.customer_pages() | catalogue.public_pages()}
    assert {"login", "marketing:form_public", "service:portal_login"} <= set(urls)
    problems = walk(client, urls)
    assert not problems, "\n".join(problems)


def test_the_admin_carries_the_policy_and_may_load_its_own_script_files(client, records):  # noqa: F811
    client.force_login(records["user"])
    person = records["person"]
    urls = {
        "index": reverse("admin:index"),
        "people": reverse("admin:contacts_person_changelist"),
        "person": reverse("admin:contacts_person_change", args=[person.pk]),
        "new user": reverse("admin:auth_user_add"),
    }
    problems = walk(client, urls)
    assert not problems, "\n".join(problems)
    policy = client.get(urls["index"])["Content-Security-Policy"]
    assert re.search(r"script-src 'nonce-[^']+' 'self'", policy), policy
    # ... and only the admin: the CRM's own pages run nonce'd scripts only, not any file of ours.
    assert "'self'" not in client.get(reverse("home"))["Content-Security-Policy"].split("script-src", 1)[1].split(";")[0]


def test_each_response_gets_a_new_nonce(client, admin_user):
    client.force_login(admin_user)
    first, second = (NONCE.search(client.get(reverse("home"))["Content-Security-Policy"]).group(1) for _ in range(2))
    assert first != second and len(first) >= 22


def test_no_page_may_be_framed_but_the_public_web_form(client, records):  # noqa: F811
    assert "frame-ancestors 'none'" in client.get(reverse("login"))["Content-Security-Policy"]
    web_form = records["web_form"]
    response = client.get(reverse("marketing:form_public", args=[web_form.key]) + "?embed=1")
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


@pytest.mark.parametrize("html", [
    '<p style="color:red">x</p>', '<a href="#" onclick="go()">x</a>', "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>', "<style>p{}</style>",
])
def test_the_check_finds_what_the_policy_would_block(html):
    parser = InlineCode("abc")
    parser.feed(html)
    assert parser.problems


@pytest.mark.django_db
def test_error_pages_carry_the_policy_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert policy_problems(response) == []
