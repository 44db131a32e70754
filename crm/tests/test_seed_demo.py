import io
import json

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from faker import Faker

from contacts.models import Activity, Organization, Person
from contacts.seed import CITIES, MOBILE_PREFIXES, SHOWCASE_PEOPLE, Pools
from contacts.tests.factories import PersonFactory
from crm import search
from crm.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from crm.models import Team
from crm.roles import Role
from crm.text import index_text

pytestmark = pytest.mark.django_db


def seed_demo(*args) -> str:
    out = io.StringIO()
    # Tests run with DEBUG off, where the command refuses to run unless forced.
    call_command("seed_demo", "--force", *args, stdout=out)
    return out.getvalue()


def test_it_creates_one_login_per_role_in_its_group():
    output = seed_demo()
    User = get_user_model()
    for role in Role.values:
        demo = next(d for d in DEMO_USERS if d.role == role)
        user = User.objects.get(username=demo.username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password(DEMO_PASSWORD)
        assert demo.username in output
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()


def test_it_puts_reps_and_agents_into_teams_of_their_managers():
    seed_demo()
    sales = Team.objects.get(name="Vertrieb")
    assert sales.manager.username == "vertrieb.leitung"
    assert set(sales.members.values_list("username", flat=True)) == {"vertrieb", "vertrieb2", "vertrieb3"}
    service = Team.objects.get(name="Kundenservice")
    assert service.manager.username == "support.leitung"
    assert set(service.members.values_list("username", flat=True)) == {"support", "support2"}


def test_the_demo_has_the_people_the_help_talks_about():
    seed_demo()
    rep = get_user_model().objects.get(username="vertrieb")
    for query in ["mueller", "Muller", "Müller"]:
        titles = [hit.title for _, hits in search.search(rep, query, limit=50) for hit in hits]
        assert "Jürgen Müller" in titles, query
    assert Person.objects.filter(first_name="Anna", last_name="Schmidt").exists()
    assert 60 <= Organization.objects.count() <= 70
    assert 200 <= Person.objects.count() <= 210
    assert 600 <= Activity.objects.count() <= 650


def test_the_demo_has_duplicates_to_merge():
    seed_demo()
    assert Person.objects.filter(email="juergen.mueller@mueller-gmbh.example").count() == 2
    assert Person.objects.filter(email="petra.neumann@nordlicht-energie.example").count() == 2
    assert Organization.objects.filter(name__in=["Müller GmbH", "Mueller GmbH"]).count() == 2


def test_every_sales_rep_has_tasks_due_today_and_overdue():
    seed_demo()
    now, today = timezone.now(), timezone.localdate()
    for rep in get_user_model().objects.filter(groups__name=Role.SALES_REP):
        tasks = Activity.objects.open_tasks().filter(assignee=rep)
        assert tasks.filter(due_at__lt=now).exists(), rep
        assert [t for t in tasks if timezone.localdate(t.due_at) == today], rep


def test_running_it_twice_creates_no_further_users_teams_or_showcase():
    seed_demo()
    users, teams = get_user_model().objects.count(), Team.objects.count()
    seed_demo()
    assert get_user_model().objects.count() == users
    assert Team.objects.count() == teams
    assert Person.objects.filter(first_name="Jürgen", last_name="Müller").count() == 1


def test_if_empty_leaves_a_database_with_people_alone():
    PersonFactory()
    users = get_user_model().objects.count()
    output = seed_demo("--if-empty")
    assert "no demo data added" in output
    assert Person.objects.count() == 1
    assert get_user_model().objects.count() == users


def test_if_empty_seeds_an_empty_database():
    seed_demo("--if-empty")
    assert Person.objects.count() > 200


def test_scale_makes_that_many_people_with_search_keys():
    seed_demo("--scale", "300")
    assert Person.objects.count() == 300 + len(SHOWCASE_PEOPLE)
    assert Organization.objects.count() >= 60
    assert Activity.objects.count() >= 900
    assert not Person.objects.filter(search_key="").exists()
    assert not Person.objects.filter(name_key="").exists()
    assert not Organization.objects.filter(search_key="").exists()
    for person in Person.objects.order_by("?")[:20]:
        assert person.search_key == index_text(*person.search_text())


def test_it_refuses_to_run_with_debug_off_unless_forced():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not get_user_model().objects.exists()


def test_generated_phone_numbers_are_valid():
    faker = Faker("de_DE")
    faker.seed_instance(1)
    pools = Pools(faker)
    numbers = [pools.phone(city) for city in CITIES for _ in range(20)]
    numbers += [pools.mobile(country) for country in MOBILE_PREFIXES for _ in range(50)]
    for number in numbers:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number.as_e164)), number.as_e164


def test_the_benchmark_measures_every_endpoint_of_the_demo(tmp_path, monkeypatch):
    """Every endpoint and throughput case runs without error; the cases' sizes are cut (their
    figures are not judged here, and at full size they took minutes of the CI run)."""
    from contacts import benchmarks as contacts_benchmarks
    from crm.webhooks import benchmarks as webhook_benchmarks

    monkeypatch.setattr(contacts_benchmarks, "BATCH_SIZE", 40)
    monkeypatch.setattr(contacts_benchmarks, "EVENT_WRITES", 20)
    monkeypatch.setattr(contacts_benchmarks, "MAILBOX_MESSAGES", 40)
    monkeypatch.setattr(webhook_benchmarks, "EVENTS", 200)
    seed_demo("--scale", "50")
    report_path = tmp_path / "report.json"
    call_command("benchmark", "--requests", "2", "--warmup", "1", "--output", str(report_path), stdout=io.StringIO())
    report = json.loads(report_path.read_text())
    assert report["dataset"]["contacts.person"] == 50 + len(SHOWCASE_PEOPLE)
    assert {e["name"] for e in report["endpoints"]} >= {"people_list", "search_suggest", "person_detail"}
    for endpoint in report["endpoints"]:
        assert endpoint["errors"] == 0, endpoint
        assert endpoint["p95_ms"] >= endpoint["median_ms"] > 0
        assert endpoint["mean_queries"] > 0
