"""The catalogue of pages that the page-frame walk and the access matrix go through.

Each app describes its own pages in `<app>/tests/pages.py`, so that adding an app never means
editing the crm tests. Such a module may define:

- `records(base: dict) -> dict`: records its URLs point at, owned by `base["user"]` (an admin
  outside everybody's team); `base` already holds what earlier apps made (contacts first).
- `url_kwargs(records) -> dict[str, dict]`: URL kwargs by view name, for every parametrised page.
- `url_queries(records) -> dict[str, str]`: query strings for views that need one.
- `expected(name, role) -> set[int] | None`: the statuses a role gets on that page, or None to use
  the default (any role reads: 200/301/302).
- `POST_ONLY_PAGES`: views that answer GET with 405.
- `PUBLIC_PAGES`: views anyone may open without logging in (they get 200 for every role).
- `CUSTOMER_PAGES`: public pages for customers (booking, portal, unsubscribe): they carry no staff
  frame (no navigation, search or staff help) and are excluded from the frame check.
- `EMBEDDED_PAGES`: documents shown inside a CRM page (an email's HTML preview): no frame either.
"""

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from django.apps import apps
from django.conf import settings

# The order in which apps make their records: later apps may use earlier apps' records.
ORDER = ["crm", "contacts", "sales", "marketing", "service", "appointments", "membership", "analytics"]


def modules() -> list[ModuleType]:
    found = []
    project_apps = [a.name for a in apps.get_app_configs() if Path(a.path).parent == Path(settings.BASE_DIR)]
    for name in sorted(project_apps, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        module_name = f"{name}.tests.pages"
        if importlib.util.find_spec(f"{name}.tests") and importlib.util.find_spec(module_name):
            found.append(importlib.import_module(module_name))
    return found


def make_records(user) -> dict:
    records = {"user": user}
    for module in modules():
        if hasattr(module, "records"):
            records.update(module.records(records))
    return records


def _merged(function_name: str, records) -> dict:
    merged = {}
    for module in modules():
        if hasattr(module, function_name):
            merged.update(getattr(module, function_name)(records))
    return merged


def url_kwargs(records) -> dict[str, dict]:
    return _merged("url_kwargs", records)


def url_queries(records) -> dict[str, str]:
    return _merged("url_queries", records)


def _union(attribute: str) -> set[str]:
    return set().union(*(getattr(m, attribute, set()) for m in modules()))


def post_only_pages() -> set[str]:
    return _union("POST_ONLY_PAGES")


def public_pages() -> set[str]:
    return _union("PUBLIC_PAGES")


def customer_pages() -> set[str]:
    return _union("CUSTOMER_PAGES")


def embedded_pages() -> set[str]:
    return _union("EMBEDDED_PAGES")


def account_pages() -> set[str]:
    return _union("ACCOUNT_PAGES")


def expected(name: str, role: str) -> set[int] | None:
    for module in modules():
        if hasattr(module, "expected") and (answer := module.expected(name, role)) is not None:
            return answer
    return None
