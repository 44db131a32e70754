"""Users and teams over the API: every CRM role reads its colleagues, with what the pages show
of them (name, email, roles, teams) and nothing of their login; nobody writes them here."""

import pytest

from conftest import make_user
from crm.models import Team
from crm.tests.api_client import call, token_for

USERS, TEAMS = "/api/v1/users/", "/api/v1/teams/"


def test_every_role_reads_users_and_teams(client, role_users):
    for role, user in role_users.items():
        token = token_for(user)
        users = call(client, "get", USERS + "?limit=100", token=token)
        assert users.status_code == 200, role
        assert {u["username"] for u in users.json()["results"]} >= {u.username for u in role_users.values()}
        assert call(client, "get", TEAMS, token=token).status_code == 200, role


def test_a_colleague_shows_name_email_roles_and_teams_only(client, alice, manager, write_token):
    team = Team.objects.get(name="Team Alice")
    response = call(client, "get", f"{USERS}{alice.pk}/", token=write_token)
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.pk, "username": "alice", "first_name": "Alice", "last_name": "Albrecht",
        "full_name": "Alice Albrecht", "email": alice.email, "roles": ["sales_rep"], "teams": [team.pk],
    }
    team_data = call(client, "get", f"{TEAMS}{team.pk}/", token=write_token).json()
    assert team_data["manager"] == manager.pk and alice.pk in team_data["members"]


def test_users_without_a_role_are_not_listed_and_nothing_is_written(client, alice, nobody, write_token):
    assert call(client, "get", f"{USERS}{nobody.pk}/", token=write_token).status_code == 404
    assert call(client, "get", USERS, token=token_for(nobody)).status_code == 403
    assert call(client, "post", USERS, {"username": "neu"}, token=write_token).status_code == 405
    assert call(client, "patch", f"{USERS}{alice.pk}/", {"email": "x@example.de"}, token=write_token).status_code == 405
    assert call(client, "post", TEAMS, {"name": "Neu"}, token=write_token).status_code == 405


@pytest.mark.parametrize("count", [2, 20])
def test_the_user_list_makes_the_same_few_queries_for_few_and_many(client, alice, write_token, count,
                                                                 django_assert_max_num_queries):
    team = Team.objects.create(name="Alle")
    for n in range(count):
        team.members.add(make_user(f"user{n}", "sales_rep"))
    # token, its touch, roles, users, their roles, their teams, and the throttle's cache
    with django_assert_max_num_queries(8):
        response = call(client, "get", USERS + "?limit=100", token=write_token)
    assert len(response.json()["results"]) == count + 1
