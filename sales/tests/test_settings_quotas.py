"""Quotas per rep and period, entered in one grid by sales managers (their teams) and admins.
The clock is frozen on 18 November 2026 (conftest.py)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from conftest import make_user
from crm.models import Team
from crm.roles import Role
from sales import services
from sales.models import Quota

NOVEMBER, OCTOBER = date(2026, 11, 1), date(2026, 10, 1)


def _quota(user, start=NOVEMBER, amount="10000", period=Quota.Period.MONTH):
    return Quota.objects.create(user=user, period=period, period_start=start, amount=Decimal(amount))


def _amounts(period=Quota.Period.MONTH, start=NOVEMBER):
    return dict(Quota.objects.filter(period=period, period_start=start).values_list("user__username", "amount"))


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.MARKETING, Role.SUPPORT_AGENT, Role.SUPPORT_LEAD])
def test_other_roles_may_not_open_or_save_quotas(client_for, role_users, role):
    client = client_for(role_users[role])
    assert client.get(reverse("sales:quota_grid")).status_code == 403
    rep = role_users[Role.SALES_REP]
    assert client.post(reverse("sales:quota_grid"), {"action": "save", f"amount_{rep.pk}": "5000"}).status_code == 403
    assert not Quota.objects.exists()


def test_the_grid_shows_the_managers_team_for_the_current_month(client_for, manager, alice, bob, charlie):
    _quota(alice, OCTOBER, "8000")
    response = client_for(manager).get(reverse("sales:quota_grid"))
    assert response.status_code == 200
    assert [rep for rep, _field, _previous in response.context["rows"]] == [alice, bob]  # not charlie, not mona herself
    assert response.context["start"] == NOVEMBER
    assert "8,000.00" in response.content.decode()  # last period beside the box


def test_saving_the_grid_creates_changes_and_removes_quotas_in_one_go(client_for, manager, alice, bob):
    _quota(alice, amount="9000")
    _quota(bob, amount="7000")
    client = client_for(manager)
    url = reverse("sales:quota_grid") + "?period=month&start=2026-11-01"
    response = client.post(url, {"action": "save", f"amount_{alice.pk}": "12000", f"amount_{bob.pk}": ""})
    assert response.status_code == 302
    assert _amounts() == {"alice": Decimal("12000.00")}
    record = Quota.objects.get(user=alice).history.first()
    assert (record.history_type, record.history_user) == ("~", manager)


def test_a_manager_cannot_set_another_teams_quota(client_for, manager, charlie):
    response = client_for(manager).post(reverse("sales:quota_grid"), {"action": "save", f"amount_{charlie.pk}": "5000"})
    assert response.status_code == 302  # the box is not on the page: the value is ignored
    assert not Quota.objects.filter(user=charlie).exists()
    with pytest.raises(PermissionDenied):
        services.quotas_save(user=manager, period=Quota.Period.MONTH, period_start=NOVEMBER, amounts={charlie.pk: Decimal("1")})
    assert not Quota.objects.filter(user=charlie).exists()


def test_admin_sets_quotas_for_everyone_in_sales(client_for, admin_user, alice, charlie):
    marketing = make_user("mia", Role.MARKETING)
    response = client_for(admin_user).get(reverse("sales:quota_grid"))
    reps = [rep for rep, _field, _previous in response.context["rows"]]
    assert alice in reps and charlie in reps and marketing not in reps


def test_bad_amounts_are_answered_at_their_box_and_nothing_is_saved(client_for, manager, alice, bob):
    client = client_for(manager)
    response = client.post(reverse("sales:quota_grid"), {"action": "save", f"amount_{alice.pk}": "-5", f"amount_{bob.pk}": "viel"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {f"amount_{alice.pk}", f"amount_{bob.pk}"}
    assert response.content.decode().count('class="invalid-feedback"') == 2
    response = client.post(reverse("sales:quota_grid"), {"action": "save", f"amount_{alice.pk}": "1" * 40})
    assert response.status_code == 400
    assert not Quota.objects.exists()


def test_amounts_are_read_as_typed_in_the_users_language(client_for, manager, alice, bob):
    client = client_for(manager)
    client.post(reverse("sales:quota_grid"), {"action": "save", f"amount_{alice.pk}": "12,500.50", f"amount_{bob.pk}": "900"})
    assert _amounts() == {"alice": Decimal("12500.50"), "bob": Decimal("900.00")}
    client.post(reverse("set_language"), {"language": "de"})
    client.post(reverse("sales:quota_grid"), {"action": "save", f"amount_{alice.pk}": "12.500", f"amount_{bob.pk}": "1.250,75"})
    assert _amounts() == {"alice": Decimal("12500.00"), "bob": Decimal("1250.75")}


def test_copy_from_the_last_period_fills_only_the_empty_boxes(client_for, manager, alice, bob):
    _quota(alice, OCTOBER, "8000")
    _quota(bob, OCTOBER, "6000")
    _quota(bob, NOVEMBER, "6500")
    client = client_for(manager)
    response = client.post(reverse("sales:quota_grid") + "?period=month&start=2026-11-01", {"action": "copy"})
    assert response.status_code == 302
    assert _amounts() == {"alice": Decimal("8000.00"), "bob": Decimal("6500.00")}
    assert _amounts(start=OCTOBER) == {"alice": Decimal("8000.00"), "bob": Decimal("6000.00")}


def test_quarters_copy_from_the_quarter_before_across_the_year(client_for, manager, alice):
    _quota(alice, date(2026, 10, 1), "30000", period=Quota.Period.QUARTER)
    client = client_for(manager)
    client.post(reverse("sales:quota_grid") + "?period=quarter&start=2027-01-01", {"action": "copy"})
    assert _amounts(Quota.Period.QUARTER, date(2027, 1, 1)) == {"alice": Decimal("30000.00")}


def test_a_period_that_is_not_offered_is_refused_at_the_field(client_for, manager, alice):
    client = client_for(manager)
    for query in ("?period=quarter&start=2026-11-01", "?period=month&start=2026-11-15", "?period=month&start=kaputt"):
        response = client.post(reverse("sales:quota_grid") + query, {"action": "save", f"amount_{alice.pk}": "1"})
        assert response.status_code == 400
        assert "start" in response.context["period_form"].errors
    assert not Quota.objects.exists()


def test_the_grid_asks_a_constant_number_of_queries(client_for, manager, alice, django_assert_max_num_queries):
    client = client_for(manager)
    _quota(alice, OCTOBER)
    client.get(reverse("sales:quota_grid"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("sales:quota_grid"))
    team = Team.objects.get(manager=manager)
    for index in range(20):
        rep = make_user(f"rep{index}", Role.SALES_REP)
        team.members.add(rep)
        _quota(rep, OCTOBER)
        _quota(rep, NOVEMBER)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("sales:quota_grid"))
    assert len(response.context["rows"]) == 22
