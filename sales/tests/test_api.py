"""The sales API over real HTTP (Django's test client): the pages' rules and roles apply
(owner / teammate / outsider / another role), conversion and stage moves go through the pages'
services, and the deal list makes no query per deal."""

from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.models import Person
from crm.roles import Role
from crm.tests.api_client import call, token_for
from sales.models import Deal, Lead, Product, StageChange
from sales.tests.factories import DealFactory, LeadFactory, LineItemFactory, ProductFactory


def url(name, obj=None, action=None):
    if action is not None:
        return reverse(f"api:{name}-{action}", args=[obj.pk])
    return reverse(f"api:{name}-detail", args=[obj.pk]) if obj is not None else reverse(f"api:{name}-list")


@pytest.fixture
def users(alice, bob, manager, charlie, role_users):
    return {"alice": alice, "bob": bob, "manager": manager, "charlie": charlie, "marketing": role_users[Role.MARKETING]}


# --- who may do what: owner, teammate, manager, outsider, another role ------------------------


@pytest.mark.parametrize(("who", "read", "write"), [
    ("alice", 200, 200), ("manager", 200, 200), ("bob", 200, 403), ("charlie", 404, 404), ("marketing", 404, 404),
])
@pytest.mark.parametrize("kind", ["lead", "deal"])
def test_each_user_reads_and_changes_as_on_the_pages(client, users, pipeline, who, read, write, kind):
    alice = users["alice"]
    record = LeadFactory(owner=alice) if kind == "lead" else DealFactory(owner=alice)
    token = token_for(users[who])
    assert call(client, "get", url(kind, record), token=token).status_code == read
    listed = [r["id"] for r in call(client, "get", url(kind), token=token).json()["results"]]
    assert listed == ([record.pk] if read == 200 else [])
    assert call(client, "patch", url(kind, record), {"next_step": "Anrufen", "city": "Ulm"}, token=token).status_code == write
    assert call(client, "delete", url(kind, record), token=token).status_code == (204 if write == 200 else write)


@pytest.mark.parametrize(("who", "status"), [("alice", 201), ("marketing", 403)])
def test_only_sales_roles_create_leads_and_deals(client, users, stages, who, status):
    token = token_for(users[who])
    assert call(client, "post", url("lead"), {"last_name": "Neu", "company": "Neu GmbH"}, token=token).status_code == status
    body = {"name": "Wartung 2027", "stage": stages["Angebot"].pk, "amount": "1200.00"}
    assert call(client, "post", url("deal"), body, token=token).status_code == status


def test_hidden_records_are_404_on_their_actions_for_every_role(client, users, stages):
    lead, deal = LeadFactory(owner=users["alice"]), DealFactory(owner=users["alice"])
    for who in ("charlie", "marketing"):
        token = token_for(users[who])
        assert call(client, "post", url("lead", lead, "convert"), {}, token=token).status_code == 404
        assert call(client, "post", url("deal", deal, "move"), {"stage": stages["Angebot"].pk}, token=token).status_code == 404
    token = token_for(users["bob"])  # the teammate sees them, may not change them
    assert call(client, "post", url("lead", lead, "convert"), {}, token=token).status_code == 403
    assert call(client, "post", url("deal", deal, "move"), {"stage": stages["Angebot"].pk}, token=token).status_code == 403


# --- leads ---------------------------------------------------------------------------------------


def test_it_creates_a_lead_as_the_create_page_does(client, alice, write_token):
    response = call(client, "post", url("lead"), {"last_name": "Lindner", "email": " Petra@Example.DE ", "status": "qualified"},
                    token=write_token)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"] == alice.pk and data["email"] == "petra@example.de" and data["status"] == "qualified"
    assert response["Location"].endswith(url("lead", Lead(pk=data["id"])))
    bad = call(client, "post", url("lead"), {"last_name": "X", "status": "disqualified"}, token=write_token)
    assert bad.status_code == 400 and "disqualify_reason" in bad.json()["errors"]
    converted = call(client, "post", url("lead"), {"last_name": "X", "status": "converted"}, token=write_token)
    assert converted.status_code == 400 and "status" in converted.json()["errors"]


def test_the_lead_list_filters_as_the_list_page(client, alice, write_token):
    LeadFactory(owner=alice, last_name="Heiß", rating="hot")
    LeadFactory(owner=alice, last_name="Kalt", rating="cold")
    names = lambda query: [r["last_name"] for r in call(client, "get", url("lead") + query, token=write_token).json()["results"]]  # noqa: E731
    assert names("?rating=hot") == ["Heiß"]
    assert names("?q=kalt") == ["Kalt"]
    assert names("?ordering=name") == ["Heiß", "Kalt"]


def test_convert_makes_person_organization_and_deal_as_the_page(client, alice, write_token, stages):
    lead = LeadFactory(owner=alice, first_name="Petra", last_name="Lindner", company="Lindner Logistik GmbH",
                       email="petra@lindner.de")
    body = {"create_deal": True, "deal_name": "Flotte 2027", "stage": stages["Angebot"].pk, "amount": "5000.00"}
    response = call(client, "post", url("lead", lead, "convert"), body, token=write_token)
    assert response.status_code == 200, response.content
    data = response.json()
    deal = Deal.objects.get(pk=data["deal"])
    assert (deal.name, deal.stage, deal.amount, deal.lead_id) == ("Flotte 2027", stages["Angebot"], Decimal("5000.00"), lead.pk)
    assert Person.objects.get(pk=data["person"]).email == "petra@lindner.de"
    assert data["lead"]["status"] == "converted" and data["lead"]["converted_deal"] == deal.pk
    again = call(client, "post", url("lead", lead, "convert"), body, token=write_token)
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    edit = call(client, "patch", url("lead", lead), {"city": "Ulm"}, token=write_token)
    assert edit.status_code == 409  # a converted lead is kept as it was, as on the edit page


def test_convert_checks_the_conversion_form(client, alice, write_token, stages):
    lead = LeadFactory(owner=alice)
    response = call(client, "post", url("lead", lead, "convert"), {"create_deal": True}, token=write_token)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"stage", "deal_name"}
    closed = call(client, "post", url("lead", lead, "convert"),
                  {"create_deal": True, "deal_name": "X", "stage": stages["Gewonnen"].pk}, token=write_token)
    assert closed.status_code == 400 and "stage" in closed.json()["errors"]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    plain = call(client, "post", url("lead", lead, "convert"), {}, token=write_token)
    assert plain.status_code == 200 and plain.json()["deal"] is None


# --- deals -----------------------------------------------------------------------------------------


def test_it_creates_a_deal_as_the_create_page_does(client, alice, write_token, stages):
    body = {"name": "Wartung 2027", "stage": stages["Angebot"].pk, "amount": "1200.00"}
    response = call(client, "post", url("deal"), body, token=write_token)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"] == alice.pk and data["pipeline"] == stages["Angebot"].pipeline_id
    assert data["probability"] == 50 and data["status"] == "open"
    assert StageChange.objects.filter(deal_id=data["id"], to_stage=stages["Angebot"]).count() == 1
    won = call(client, "post", url("deal"), {**body, "stage": stages["Gewonnen"].pk}, token=write_token)
    assert won.status_code == 400 and "stage" in won.json()["errors"]  # only open stages, as the form


def test_a_deal_shows_its_line_items_and_they_set_the_amount(client, alice, write_token, pipeline):
    deal = DealFactory(owner=alice)
    LineItemFactory(deal=deal, quantity=Decimal("2"), unit_price=Decimal("100.00"))
    deal.amount_from_line_items()
    data = call(client, "get", url("deal", deal), token=write_token).json()
    assert [i["total"] for i in data["line_items"]] == ["200.00"] and data["amount"] == "200.00"
    response = call(client, "patch", url("deal", deal), {"amount": "999.00"}, token=write_token)
    assert response.status_code == 200 and response.json()["amount"] == "200.00"  # the form shows it, not types it


def test_move_follows_the_boards_rules(client, alice, write_token, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    response = call(client, "post", url("deal", deal, "move"), {"stage": stages["Angebot"].pk}, token=write_token)
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == stages["Angebot"].pk and response.json()["probability"] == 50
    # A lost stage needs a reason: refused as the board refuses it, with a problem detail.
    lost = call(client, "post", url("deal", deal, "move"), {"stage": stages["Verloren"].pk}, token=write_token)
    assert lost.status_code == 409 and lost["Content-Type"] == "application/problem+json"
    assert "needs a reason" in lost.json()["detail"]
    won = call(client, "post", url("deal", deal, "move"), {"stage": stages["Gewonnen"].pk}, token=write_token)
    assert won.status_code == 200 and won.json()["status"] == "won"
    closed = call(client, "post", url("deal", deal, "move"), {"stage": stages["Angebot"].pk}, token=write_token)
    assert closed.status_code == 409 and "reopen" in closed.json()["detail"]
    for bad in ({"stage": "x"}, {}, {"stage": 99999999}):
        assert call(client, "post", url("deal", deal, "move"), bad, token=write_token).status_code == 400


def test_a_stage_change_by_patch_is_a_move(client, alice, write_token, stages):
    deal = DealFactory(owner=alice, stage=stages["Qualifizierung"])
    response = call(client, "patch", url("deal", deal), {"stage": stages["Verhandlung"].pk}, token=write_token)
    assert response.status_code == 200, response.content
    assert response.json()["probability"] == 75
    assert StageChange.objects.filter(deal=deal, to_stage=stages["Verhandlung"]).exists()


def test_a_stale_write_is_412(client, alice, write_token, pipeline):
    deal = DealFactory(owner=alice)
    etag = call(client, "get", url("deal", deal), token=write_token)["ETag"]
    assert call(client, "patch", url("deal", deal), {"next_step": "A"}, token=write_token, If_Match=etag).status_code == 200
    assert call(client, "patch", url("deal", deal), {"next_step": "B"}, token=write_token, If_Match=etag).status_code == 412


def test_the_deal_list_filters_as_the_list_page(client, alice, write_token, stages):
    DealFactory(owner=alice, name="Offen", stage=stages["Angebot"])
    DealFactory(owner=alice, name="Gewonnen", stage=stages["Gewonnen"], status="won")
    names = lambda query: [d["name"] for d in call(client, "get", url("deal") + query, token=write_token).json()["results"]]  # noqa: E731
    assert names("?status=won") == ["Gewonnen"]
    assert names(f"?stage={stages['Angebot'].pk}") == ["Offen"]
    assert names("?ordering=name") == ["Gewonnen", "Offen"]


@pytest.mark.parametrize("count", [3, 30])
def test_the_deal_list_makes_the_same_few_queries_for_few_and_many(client, alice, write_token, pipeline,
                                                                   django_assert_max_num_queries, count):
    for _ in range(count):
        LineItemFactory(deal=DealFactory(owner=alice))
    # token, its touch, roles, teams (visible_to), deals, line items, the throttle's cache
    with django_assert_max_num_queries(9):
        response = call(client, "get", url("deal") + "?limit=100", token=write_token)
    assert response.status_code == 200 and len(response.json()["results"]) == count
    assert all(len(d["line_items"]) == 1 for d in response.json()["results"])


# --- pipelines, stages, products -------------------------------------------------------------


def test_every_role_reads_pipelines_stages_and_products(client, role_users, pipeline):
    product = ProductFactory()
    for role, user in role_users.items():
        token = token_for(user)
        pipelines = call(client, "get", url("pipeline"), token=token)
        assert pipelines.status_code == 200, role
        assert [s["name"] for s in pipelines.json()["results"][0]["stages"]][:2] == ["Qualifizierung", "Bedarfsanalyse"]
        assert call(client, "get", url("stage"), token=token).status_code == 200
        assert call(client, "get", url("product", product), token=token).status_code == 200
        assert call(client, "post", url("pipeline"), {"name": "X"}, token=token).status_code == 405


def test_products_are_changed_by_admins_only(client, alice, admin_user):
    rep, admin = token_for(alice), token_for(admin_user)
    body = {"name": "Wartung", "sku": "W-1", "unit_price": "100.00", "currency": "EUR", "tax_rate": "19.00"}
    assert call(client, "post", url("product"), body, token=rep).status_code == 403
    response = call(client, "post", url("product"), body, token=admin)
    assert response.status_code == 201, response.content
    assert call(client, "post", url("product"), body, token=admin).status_code == 400  # the article number is unique
    product = Product.objects.get(sku="W-1")
    assert call(client, "patch", url("product", product), {"unit_price": "-1"}, token=admin).status_code == 400
    assert call(client, "patch", url("product", product), {"is_active": False}, token=rep).status_code == 403
    assert call(client, "patch", url("product", product), {"is_active": False}, token=admin).json()["is_active"] is False
    assert call(client, "delete", url("product", product), token=admin).status_code == 204


def test_a_product_on_a_line_item_is_not_deleted(client, admin_user, pipeline):
    item = LineItemFactory(deal=DealFactory(owner=admin_user))
    response = call(client, "delete", url("product", item.product), token=token_for(admin_user))
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert Product.objects.filter(pk=item.product_id).exists()


def test_a_deal_shows_an_empty_lost_reason_as_the_schema_says(client, alice, write_token, pipeline):
    deal = DealFactory(owner=alice)
    assert call(client, "get", url("deal", deal), token=write_token).json()["lost_reason"] == ""


# --- batch upsert of deals and products --------------------------------------------------------


def test_a_deal_batch_creates_updates_and_reports_errors(client, alice, stages, write_token):
    existing = DealFactory(owner=alice, name="Alt", stage=stages["Angebot"], external_source="erp", external_id="D-1")
    records = [
        {"external_source": "erp", "external_id": "D-1", "name": "Rahmenvertrag", "stage": stages["Angebot"].pk},
        {"external_source": "erp", "external_id": "D-2", "name": "Wartung", "stage": stages["Angebot"].pk,
         "amount": "1200.00"},
        {"external_source": "erp", "external_id": "D-1", "name": "Rahmenvertrag", "stage": stages["Angebot"].pk},
        {"external_source": "erp", "external_id": "D-3", "name": "", "stage": stages["Angebot"].pk},
        {"external_id": "D-4", "name": "Ohne System", "stage": stages["Angebot"].pk},
    ]
    response = call(client, "post", url("deal") + "batch/", {"records": records}, token=write_token)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "created", "unchanged", "error", "error"], results
    assert "name" in results[3]["errors"] and "external_source" in results[4]["errors"]
    existing.refresh_from_db()
    assert existing.name == "Rahmenvertrag"
    created = Deal.objects.get(external_id="D-2")
    assert created.owner == alice and created.amount == Decimal("1200.00") and created.history.count() == 1


def test_a_deal_batch_is_for_the_sales_roles_and_their_records(client, users, stages):
    body = {"records": [{"name": "Neu", "stage": stages["Angebot"].pk}]}
    assert call(client, "post", url("deal") + "batch/", body, token=token_for(users["marketing"])).status_code == 403
    theirs = DealFactory(owner=users["alice"], stage=stages["Angebot"], external_source="erp", external_id="X")
    body = {"records": [{"external_source": "erp", "external_id": "X", "name": "Meins", "stage": stages["Angebot"].pk}]}
    response = call(client, "post", url("deal") + "batch/", body, token=token_for(users["charlie"]))
    # The outsider does not see alice's deal: the external id is taken by a record it may not change.
    assert response.json()["results"][0]["status"] == "error"
    theirs.refresh_from_db()
    assert theirs.name != "Meins"


def test_an_atomic_deal_batch_stores_nothing_when_one_fails(client, alice, stages, write_token):
    records = [{"name": "Gut", "stage": stages["Angebot"].pk}, {"name": "Schlecht", "stage": 999999}]
    response = call(client, "post", url("deal") + "batch/", {"atomic": True, "records": records}, token=write_token)
    assert response.status_code == 422
    assert [r["status"] for r in response.json()["results"]] == ["not_stored", "error"]
    assert not Deal.objects.exists()


def test_a_product_batch_matches_by_external_id_then_article_number(client, admin_user, alice):
    by_sku = ProductFactory(sku="SKU-1", name="Alt")
    records = [
        {"sku": "SKU-1", "name": "Neu", "unit_price": "10.00", "external_source": "erp", "external_id": "P-1"},
        {"external_source": "erp", "external_id": "P-1", "sku": "SKU-1", "name": "Neu", "unit_price": "10.00"},
        {"sku": "SKU-2", "name": "Zweit", "unit_price": "5.00"},
        {"sku": "SKU-3", "name": "Falsch", "unit_price": "-1"},
    ]
    assert call(client, "post", url("product") + "batch/", {"records": records}, token=token_for(alice)).status_code == 403
    response = call(client, "post", url("product") + "batch/", {"records": records}, token=token_for(admin_user))
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "unchanged", "created", "error"], results
    assert "unit_price" in results[3]["errors"]
    by_sku.refresh_from_db()
    assert (by_sku.name, by_sku.external_id) == ("Neu", "P-1")
    assert Product.objects.filter(sku="SKU-2").exists()


# --- price lists -------------------------------------------------------------------------------


def test_every_role_reads_price_lists_and_admins_write_them(client, users, admin_user):
    from sales.models import PriceList, PriceListItem

    product = ProductFactory()
    price_list = PriceList.objects.create(name="Händler", currency="EUR")
    PriceListItem.objects.create(price_list=price_list, product=product, unit_price=Decimal("90.00"))
    for who in ("alice", "charlie", "marketing"):
        token = token_for(users[who])
        listed = call(client, "get", url("pricelist"), token=token).json()["results"]
        assert [(p["name"], [i["unit_price"] for i in p["items"]]) for p in listed] == [("Händler", ["90.00"])], who
        assert call(client, "post", url("pricelist"), {"name": "Neu"}, token=token).status_code == 403
        assert call(client, "patch", url("pricelist", price_list), {"name": "X"}, token=token).status_code == 403
    admin = token_for(admin_user)
    created = call(client, "post", url("pricelist"), {"name": "Export", "currency": "USD"}, token=admin)
    assert created.status_code == 201, created.content
    item = call(client, "post", url("pricelistitem"),
                {"price_list": created.json()["id"], "product": product.pk, "unit_price": "80.00"}, token=admin)
    assert item.status_code == 201, item.content
    twice = call(client, "post", url("pricelistitem"),
                 {"price_list": created.json()["id"], "product": product.pk, "unit_price": "70.00"}, token=admin)
    assert twice.status_code == 400 and twice["Content-Type"] == "application/problem+json"
    backwards = call(client, "patch", url("pricelist", price_list), {"valid_from": "2027-02-01", "valid_until": "2027-01-01"},
                     token=admin)
    assert backwards.status_code == 400, backwards.content
    etag = call(client, "get", url("pricelist", price_list), token=admin)["ETag"]
    assert call(client, "patch", url("pricelist", price_list), {"name": "Händler 2027"}, token=admin, If_Match=etag).status_code == 200
    assert call(client, "patch", url("pricelist", price_list), {"name": "Händler 2028"}, token=admin, If_Match=etag).status_code == 412
    assert call(client, "delete", url("pricelist", price_list), token=admin).status_code == 204
    assert not PriceListItem.objects.filter(price_list=price_list).exists()


@pytest.mark.parametrize("count", [2, 20])
def test_the_price_list_list_makes_the_same_few_queries(client, alice, count, django_assert_max_num_queries):
    from sales.models import PriceList, PriceListItem

    for n in range(count):
        price_list = PriceList.objects.create(name=f"Liste {n}")
        PriceListItem.objects.create(price_list=price_list, product=ProductFactory(), unit_price=Decimal("1.00"))
    token = token_for(alice)
    with django_assert_max_num_queries(6):  # token, its touch, roles, lists, their items, the throttle
        assert len(call(client, "get", url("pricelist") + "?limit=100", token=token).json()["results"]) == count


def test_a_refusal_while_saving_one_deal_keeps_the_others_of_the_batch(client, alice, stages, write_token):
    """The deal form accepts any open stage; moving a deal into another pipeline is refused when
    it is saved (DealSerializer.update). The batch then stores the others, and only those."""
    from sales.tests.factories import make_pipeline

    other = make_pipeline("Service").stages.get(name="Angebot")
    deal = DealFactory(owner=alice, stage=stages["Angebot"], external_source="erp", external_id="M-1")
    records = [
        {"external_source": "erp", "external_id": "N-1", "name": "Vorher", "stage": stages["Angebot"].pk},
        {"external_source": "erp", "external_id": "M-1", "stage": other.pk},
        {"external_source": "erp", "external_id": "N-2", "name": "Nachher", "stage": stages["Angebot"].pk},
    ]
    response = call(client, "post", url("deal") + "batch/", {"records": records}, token=write_token)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created"], results
    assert "stage" in results[1]["errors"]
    assert set(Deal.objects.values_list("external_id", flat=True)) == {"M-1", "N-1", "N-2"}
    deal.refresh_from_db()
    assert deal.stage == stages["Angebot"]
    assert Deal.objects.get(external_id="N-1").history.count() == 1  # written once, not twice
