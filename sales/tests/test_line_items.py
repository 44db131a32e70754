"""A deal with line items is worth their total; the form says so before saving, the history says
so after; a deal without line items keeps the amount typed for it; a line item never takes a list
price in another currency than the deal's."""

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.history import history_rows
from sales.models import Deal, LineItem
from sales.tests.factories import DealFactory, LineItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def form_data(deal, **fields):
    data = {
        "name": deal.name, "organization": deal.organization_id, "stage": deal.stage_id, "owner": deal.owner_id,
        "amount": str(deal.amount), "currency": deal.currency, "forecast_category": deal.forecast_category,
        "probability": "", "version": Deal.objects.get(pk=deal.pk).updated_at.isoformat(),
        "rows-TOTAL_FORMS": "0", "rows-INITIAL_FORMS": "0", "rows-MIN_NUM_FORMS": "0", "rows-MAX_NUM_FORMS": "100",
    }
    data.update(fields)
    return data


def new_row(index, **fields):
    return {f"rows-{index}-{name}": value for name, value in fields.items()}


@pytest.fixture
def deal(alice, stages):
    return DealFactory(owner=alice, stage=stages["Angebot"], amount=Decimal("150660.00"), name="Rahmenvertrag 2027")


def test_the_form_says_before_saving_that_line_items_replace_the_amount(client, alice, deal):
    client.force_login(alice)
    html = client.get(reverse("sales:deal_update", args=[deal.pk])).content.decode()
    assert 'data-testid="line-item-amount-notice"' in html
    assert "When you add line items, the deal's amount becomes their total: the amount typed above (€150,660.00) will be replaced." in html
    html = client.get(reverse("sales:deal_create")).content.decode()
    assert "When you add line items, the deal's amount becomes their total instead of the amount typed above." in html


def test_with_line_items_the_amount_is_read_only_and_explained(client, alice, deal):
    LineItemFactory(deal=deal, quantity=Decimal("2"), unit_price=Decimal("1470"))
    deal.amount_from_line_items()
    client.force_login(alice)
    response = client.get(reverse("sales:deal_update", args=[deal.pk]))
    form = response.context["form"]
    assert form.fields["amount"].disabled
    html = response.content.decode()
    assert "The total of the line items below: change them to change the amount." in html
    assert "This deal's amount (€2,940.00) is the total of its line items: it changes when you change them." in html
    # A typed amount is ignored while there are line items.
    data = form_data(deal, amount="99999", **{"rows-TOTAL_FORMS": "1", "rows-INITIAL_FORMS": "1"},
                     **new_row(0, id=deal.line_items.get().pk, product=deal.line_items.get().product_id, quantity="2",
                               unit_price="1470", discount_percent="0"))
    assert client.post(reverse("sales:deal_update", args=[deal.pk]), data).status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("2940.00")


def test_adding_a_line_item_makes_the_amount_its_total_and_the_history_says_why(client, alice, deal):
    product = ProductFactory(unit_price=Decimal("1470.00"))
    client.force_login(alice)
    data = form_data(deal, **{"rows-TOTAL_FORMS": "1"},
                     **new_row(0, product=product.pk, quantity="2", unit_price="", discount_percent="0"))
    response = client.post(reverse("sales:deal_update", args=[deal.pk]), data, follow=True)
    deal.refresh_from_db()
    assert deal.amount == Decimal("2940.00")
    assert "The amount is now €2,940.00, the total of the line items (it was €150,660.00)." in response.content.decode()
    rows, _more = history_rows(deal)
    change = next(row for row in rows if any(c.field == "amount" for c in row.changes))
    assert change.reason == "Amount set to the total of the line items"
    assert [(c.old, c.new) for c in change.changes if c.field == "amount"] == [("€150,660.00", "€2,940.00")]
    assert change.user == "Alice Albrecht"
    html = client.get(reverse("sales:deal_history", args=[deal.pk])).content.decode()
    assert "Amount set to the total of the line items" in html


def test_without_line_items_the_typed_amount_stays(client, alice, deal):
    client.force_login(alice)
    response = client.post(reverse("sales:deal_update", args=[deal.pk]), form_data(deal, amount="175000"))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("175000.00")
    assert not Deal.history.filter(id=deal.pk).exclude(history_change_reason=None).exists()


def test_removing_the_last_line_item_keeps_its_total_and_frees_the_amount(client, alice, deal):
    item = LineItemFactory(deal=deal, quantity=Decimal("1"), unit_price=Decimal("500"))
    deal.amount_from_line_items()
    client.force_login(alice)
    data = form_data(deal, **{"rows-TOTAL_FORMS": "1", "rows-INITIAL_FORMS": "1"},
                     **new_row(0, id=item.pk, product=item.product_id, quantity="1", unit_price="500",
                               discount_percent="0", DELETE="on"))
    assert client.post(reverse("sales:deal_update", args=[deal.pk]), data).status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00") and not deal.line_items.exists()
    assert not client.get(reverse("sales:deal_update", args=[deal.pk])).context["form"].fields["amount"].disabled


def test_a_list_price_in_another_currency_is_refused_with_a_message(client, alice, deal):
    chf_product = ProductFactory(unit_price=Decimal("1000.00"), currency="CHF", name="Wartung Schweiz")
    client.force_login(alice)
    data = form_data(deal, **{"rows-TOTAL_FORMS": "1"},
                     **new_row(0, product=chf_product.pk, quantity="1", unit_price="", discount_percent="0"))
    response = client.post(reverse("sales:deal_update", args=[deal.pk]), data)
    assert response.status_code == 200
    assert ("The list price of “Wartung Schweiz” is in CHF, the deal is in EUR: enter the unit price in EUR."
            in response.content.decode())
    assert not LineItem.objects.exists()
    deal.refresh_from_db()
    assert deal.amount == Decimal("150660.00")
    # A unit price typed in the deal's currency is taken.
    data.update(new_row(0, product=chf_product.pk, quantity="1", unit_price="1040", discount_percent="0"))
    assert client.post(reverse("sales:deal_update", args=[deal.pk]), data).status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("1040.00")


def test_a_line_item_without_product_needs_a_price(client, alice, deal):
    client.force_login(alice)
    data = form_data(deal, **{"rows-TOTAL_FORMS": "1"},
                     **new_row(0, description="Workshop", quantity="1", unit_price="", discount_percent="0"))
    response = client.post(reverse("sales:deal_update", args=[deal.pk]), data)
    assert response.status_code == 200
    assert "Enter a unit price or choose a product." in response.content.decode()


def test_the_admin_applies_the_same_rule(client, admin_user, deal):
    product = ProductFactory(unit_price=Decimal("100.00"))
    client.force_login(admin_user)
    url = reverse("admin:sales_deal_change", args=[deal.pk])
    form = client.get(url).context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if not isinstance(value, list)}
    data.update({
        "name": deal.name, "pipeline": deal.pipeline_id, "stage": deal.stage_id, "amount": "150660.00", "currency": "EUR",
        "probability": deal.probability, "forecast_category": deal.forecast_category, "status": deal.status,
        "organization": deal.organization_id, "owner": deal.owner_id,
        "deal_contacts-TOTAL_FORMS": "0", "deal_contacts-INITIAL_FORMS": "0",
        "line_items-TOTAL_FORMS": "1", "line_items-INITIAL_FORMS": "0",
        "line_items-0-product": product.pk, "line_items-0-quantity": "3", "line_items-0-unit_price": "100",
        "line_items-0-discount_percent": "0", "line_items-0-position": "0", "line_items-0-description": "",
    })
    for key in ("created_at", "updated_at", "stage_entered_at", "last_activity_at", "closed_at"):
        data.pop(key, None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    deal.refresh_from_db()
    assert deal.amount == Decimal("300.00")
