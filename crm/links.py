"""Links: absolute ones for emails and calendar files (CRM_BASE_URL + a path), and the one check
every view uses before it follows a `next=` it was given."""

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def absolute_url(path: str) -> str:
    return settings.CRM_BASE_URL.rstrip("/") + path


def safe_next_url(request, candidate: str | None, fallback: str) -> str:
    """`candidate` if it is a path on this site, else `fallback`.

    Only same-site paths pass: `//evil.example/x`, `/\\evil.example`, `https://evil.example/`,
    `javascript:…` and anything with a host, even our own, fall back. Django's
    `url_has_allowed_host_and_scheme` does the parsing the browsers do (backslashes, control
    characters, schemes); we additionally require a path, so a crafted host never appears.
    """
    candidate = (candidate or "").strip()
    if (
        candidate.startswith("/")
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts=set(), require_https=request.is_secure())
    ):
        return candidate
    return fallback
