"""The pipeline board in a real browser: drag a card to another stage, reload, the move stayed;
a refused move (a closed deal) shows the reason and the card goes back."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from crm.roles import Role
from crm.tests.factories import UserFactory
from crm.tests.test_browser import PASSWORD, browser, page, shoot  # noqa: F401  (fixtures)
from sales.models import Deal
from sales.tests.factories import DealFactory, make_pipeline

pytestmark = pytest.mark.browser


@pytest.fixture
def board_data(transactional_db, django_db_serialized_rollback):
    rep = UserFactory(username="lena", first_name="Lena", last_name="Wagner", password=PASSWORD)
    rep.groups.add(Group.objects.get(name=Role.SALES_REP))
    pipeline = make_pipeline()
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    movable = DealFactory(name="Fräsmaschine Müller", owner=rep, stage=stages["Qualifizierung"], amount=Decimal("42000"))
    closed = DealFactory(
        name="Wartung Schäfer", owner=rep, stage=stages["Gewonnen"], status=Deal.Status.WON, closed_at=timezone.now()
    )
    return {"rep": rep, "stages": stages, "movable": movable, "closed": closed}


def login(page, base):  # noqa: F811
    page.goto(f"{base}{reverse('login')}")
    page.fill("#id_username", "lena")
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{reverse('home')}")


def test_drag_a_card_and_a_refused_move(page, live_server, board_data):  # noqa: F811
    base, stages = live_server.url, board_data["stages"]
    movable, closed = board_data["movable"], board_data["closed"]
    login(page, base)
    page.goto(f"{base}{reverse('sales:board')}")
    card = page.locator(f"[data-testid=deal-{movable.pk}]")
    target = page.locator(f"ol[data-stage='{stages['Angebot'].pk}']")
    card.drag_to(target)
    page.wait_for_selector("#board-message .alert-success")
    shoot(page, "sales-board-moved")
    movable.refresh_from_db()
    assert movable.stage == stages["Angebot"]

    page.reload()
    moved = page.locator(f"ol[data-stage='{stages['Angebot'].pk}'] [data-testid=deal-{movable.pk}]")
    assert moved.count() == 1
    assert "1 ·" in page.locator(f"#stage-total-{stages['Angebot'].pk}").inner_text()

    # A won deal may not be moved: the board says why and the card returns to its column.
    closed_card = page.locator(f"[data-testid=deal-{closed.pk}]")
    closed_card.drag_to(page.locator(f"ol[data-stage='{stages['Verhandlung'].pk}']"))
    error = page.wait_for_selector("#board-message .alert-danger")
    assert "Wartung Schäfer" in error.inner_text()
    page.wait_for_selector(f"ol[data-stage='{stages['Gewonnen'].pk}'] [data-testid=deal-{closed.pk}]")
    assert page.locator(f"ol[data-stage='{stages['Verhandlung'].pk}'] [data-testid=deal-{closed.pk}]").count() == 0
    shoot(page, "sales-board-refused")
    closed.refresh_from_db()
    assert closed.stage == stages["Gewonnen"]


def test_move_a_card_with_the_keyboard_and_the_next_stage_button(page, live_server, board_data):  # noqa: F811
    from crm.tests.test_browser import serious_accessibility_violations

    base, stages, movable = live_server.url, board_data["stages"], board_data["movable"]
    login(page, base)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{base}{reverse('sales:board')}")
    button = page.locator(f"[data-testid=deal-{movable.pk}] .crm-move-open")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#board-move-dialog")
    assert dialog.is_visible()
    assert page.evaluate("document.activeElement.textContent") == "Bedarfsanalyse"  # the first stage it may go to
    assert serious_accessibility_violations(page) == []
    shoot(page, "sales-board-move-dialog")
    page.keyboard.press("Tab")  # Angebot
    page.keyboard.press("Enter")
    status = page.wait_for_selector("#board-message [role=status]")
    assert "Angebot" in status.inner_text()
    assert not dialog.is_visible()
    page.wait_for_selector(f"ol[data-stage='{stages['Angebot'].pk}'] [data-testid=deal-{movable.pk}]")
    assert page.evaluate("document.activeElement.classList.contains('crm-move-open')")  # focus stays on the card
    movable.refresh_from_db()
    assert movable.stage == stages["Angebot"]
    shoot(page, "sales-board-moved-by-keyboard")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}{reverse('sales:board')}")
    shoot(page, "sales-board-phone")

    # The deal page goes on one stage with the same rules.
    for width, height, name in ((1366, 768, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}{movable.get_absolute_url()}")
        shoot(page, f"sales-deal-next-stage-{name}")
    page.get_by_role("button", name="Nächste Phase: Verhandlung").click()
    page.wait_for_selector(".alert-success")
    movable.refresh_from_db()
    assert movable.stage == stages["Verhandlung"]
    assert page.get_by_role("button", name="Nächste Phase").count() == 0  # the last open stage: won or lost from here
    shoot(page, "sales-deal-next-stage-done")
