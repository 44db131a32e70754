"""The API documentation (Swagger UI) in a real browser: it loads from our own static files,
renders every contacts endpoint and runs "Try it out" with the session, and the browser reports
no Content-Security-Policy violation (the `page` fixture fails on any)."""

import pytest
from django.urls import reverse

from contacts.tests.factories import PersonFactory
from crm.roles import Role
from crm.tests.factories import UserFactory
from crm.tests.test_browser import browser, page, shoot  # noqa: F401  (fixtures)
from crm.tests.test_browser_csp import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def rep(transactional_db, django_db_serialized_rollback):
    from django.contrib.auth.models import Group

    user = UserFactory(username="sabine-api")
    user.groups.add(Group.objects.get(name=Role.SALES_REP))
    PersonFactory(first_name="Jürgen", last_name="Müller")
    return user


def test_swagger_ui_works_under_the_csp(page, live_server, rep):  # noqa: F811
    base = live_server.url
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, base, rep)
    page.goto(f"{base}{reverse('api_docs')}")
    page.wait_for_selector("#swagger-ui .opblock-tag", timeout=15_000)
    # Swagger UI draws only the operations in view of a long API; the filter box finds a tag.
    page.fill("#swagger-ui .operation-filter-input", "people")
    page.wait_for_selector("#swagger-ui .opblock-tag >> text=people", timeout=15_000)
    assert page.locator("[data-testid=breadcrumbs]").count() == 1
    # Every file from this server: no CDN.
    assert requests and all(url.startswith(base) or url.startswith("data:") for url in requests), requests
    # "Try it out" on GET /api/v1/people/ with the session.
    page.click("#operations-people-people_list .opblock-summary")
    page.click("#operations-people-people_list .try-out__btn")
    page.click("#operations-people-people_list .execute")
    # The server's answer (the live responses table), not the documented responses, which list 200 at once.
    live = "#operations-people-people_list .live-responses-table"
    page.wait_for_selector(f"{live} .response-col_status >> text=200", timeout=15_000)
    assert "Müller" in page.locator(live).inner_text()
    shoot(page, "api-docs")
