"""Pipeline settings in a real browser: drag a stage by its handle, reload, the order stayed."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm.roles import Role
from crm.tests.factories import UserFactory
from crm.tests.test_browser import PASSWORD, browser, page, shoot  # noqa: F401  (fixtures)
from sales.tests.factories import make_pipeline

pytestmark = pytest.mark.browser


@pytest.fixture
def manager_data(transactional_db, django_db_serialized_rollback):
    manager = UserFactory(username="thomas", first_name="Thomas", last_name="Becker", password=PASSWORD)
    manager.groups.add(Group.objects.get(name=Role.SALES_MANAGER))
    return {"manager": manager, "pipeline": make_pipeline()}


def _names(page):  # noqa: F811
    return page.eval_on_selector_all(".crm-stage-list [data-stage] .fw-semibold", "items => items.map(i => i.textContent)")


def test_drag_a_stage_to_a_new_place(page, live_server, manager_data):  # noqa: F811
    base, pipeline = live_server.url, manager_data["pipeline"]
    page.goto(f"{base}{reverse('login')}")
    page.fill("#id_username", "thomas")
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{reverse('home')}")
    page.goto(f"{base}{reverse('sales:pipeline_update', args=[pipeline.pk])}")
    handle = page.locator(".crm-stage-list [data-stage]").nth(0).locator(".crm-drag-handle").bounding_box()
    target = page.locator(".crm-stage-list [data-stage]").nth(2).bounding_box()
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    page.mouse.down()
    for step in range(1, 21):  # SortableJS follows a pointer that moves, not one that jumps
        page.mouse.move(handle["x"] + 5, handle["y"] + 5 + (target["y"] + target["height"] - 5 - handle["y"]) * step / 20)
    page.mouse.up()
    page.wait_for_selector("#stage-order-message.text-success")
    shoot(page, "sales-pipeline-stages-reordered")
    dropped = _names(page)
    assert dropped[0] == "Bedarfsanalyse" and dropped.index("Qualifizierung") > 0
    assert list(pipeline.stages.order_by("order", "pk").values_list("name", flat=True)) == dropped
    page.reload()
    assert _names(page) == dropped
    first_up = page.locator(".crm-stage-list [data-stage]").nth(0).locator("form button").first
    assert first_up.is_disabled()
