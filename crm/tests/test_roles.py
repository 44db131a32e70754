import pytest
from django.contrib.auth.models import Group

from crm.models import managed_user_ids, teammate_ids
from crm.roles import Role, has_role, is_crm_user, user_roles


def test_the_data_migration_made_one_group_per_role(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_roles_come_from_groups(role_users):
    rep = role_users[Role.SALES_REP]
    assert user_roles(rep) == {Role.SALES_REP}
    assert has_role(rep, Role.SALES_REP, Role.ADMIN)
    assert not has_role(rep, Role.ADMIN)


def test_superuser_counts_as_admin(admin_user):
    assert has_role(admin_user, Role.ADMIN)


def test_user_without_group_is_no_crm_user(nobody):
    assert not is_crm_user(nobody)


def test_inactive_user_has_no_roles(role_users):
    rep = role_users[Role.SALES_REP]
    rep.is_active = False
    rep.save()
    rep.refresh_from_db()
    assert not is_crm_user(rep)


@pytest.mark.django_db
def test_managers_manage_their_team_and_teammates_see_each_other(alice, bob, manager, charlie):
    assert managed_user_ids(manager) == {manager.pk, alice.pk, bob.pk}
    assert managed_user_ids(alice) == {alice.pk}
    assert teammate_ids(alice) == {alice.pk, bob.pk}
    assert charlie.pk not in teammate_ids(alice)
