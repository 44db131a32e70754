"""Helpers for the start page tests of each app: one widget's HTML, and the page's query count."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def home(client, language: str = "en") -> str:
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def widget(body: str, widget_id: str) -> str:
    """The HTML of the widget whose heading has this id ("" when the page has no such widget)."""
    marker = f'aria-labelledby="{widget_id}"'
    if marker not in body:
        return ""
    start = body.index(marker)
    return body[start : body.index("</section>", start)]


def part(html: str, name: str) -> str:
    """One list of a widget with several (`data-widget-list="name"`)."""
    marker = f'data-widget-list="{name}"'
    start = html.index(marker)
    return html[start : html.index("</ul>", start)]


def home_queries(client) -> int:
    """The number of SQL queries of one start page (after a first call that warms the caches)."""
    home(client)
    with CaptureQueriesContext(connection) as queries:
        home(client)
    return len(queries.captured_queries)
