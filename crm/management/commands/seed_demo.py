"""Demo logins for every role, their teams, then the demo data of every app (see crm.seeding).

    manage.py seed_demo                 # the demo: ~60 organizations, ~200 people, ~600 activities
    manage.py seed_demo --if-empty      # the same, unless the database holds data already
    manage.py seed_demo --scale 100000  # a large data set for the benchmark

Users and teams are made once (running again adds none); every run adds the apps' data.
"""

import time
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import override_settings
from faker import Faker

from crm.models import OutgoingEmail, Team
from crm.roles import Role
from crm.seeding import seeders

DEMO_PASSWORD = "demo1234!"  # noqa: S105  (published on purpose; the command refuses to run in production)
DEFAULT_SCALE = 200
# The benchmark data set "L" has 100 users for 1,000,000 people: one more user per 10,000 people.
PEOPLE_PER_USER = 10_000


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str


DEMO_USERS = [
    DemoUser("admin", "Sabine", "Hoffmann", Role.ADMIN),
    DemoUser("vertrieb.leitung", "Thomas", "Becker", Role.SALES_MANAGER),
    DemoUser("vertrieb", "Lena", "Wagner", Role.SALES_REP),
    DemoUser("vertrieb2", "Jonas", "Fischer", Role.SALES_REP),
    DemoUser("vertrieb3", "Miriam", "Krause", Role.SALES_REP),
    DemoUser("marketing", "Katrin", "Schulz", Role.MARKETING),
    DemoUser("support.leitung", "Michael", "Weber", Role.SUPPORT_LEAD),
    DemoUser("support", "Julia", "Koch", Role.SUPPORT_AGENT),
    DemoUser("support2", "Felix", "Richter", Role.SUPPORT_AGENT),
    DemoUser("mitglieder", "Monika", "Lehmann", Role.MEMBERSHIP_MANAGER),
]
# Team name, the role of its manager, the role of its members.
DEMO_TEAMS = [
    ("Vertrieb", Role.SALES_MANAGER, Role.SALES_REP),
    ("Kundenservice", Role.SUPPORT_LEAD, Role.SUPPORT_AGENT),
]
# Extra users of large data sets: (role, username prefix, number of the first one).
EXTRA_USERS = (
    [(Role.SALES_REP, "vertrieb", 4)] * 6
    + [(Role.SUPPORT_AGENT, "support", 3)] * 3
    + [(Role.MARKETING, "marketing", 2)]
)


class Command(BaseCommand):
    help = "Creates demo logins for every role and demo data (German companies, people, activities)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=DEFAULT_SCALE, help="number of people (default: %(default)s)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the database holds data already")
        parser.add_argument("--seed", type=int, default=2026, help="random seed, for the same data every time")
        parser.add_argument(
            "--force", action="store_true", help="run although DEBUG is off (demo logins have a published password)"
        )

    def handle(self, *, scale: int, if_empty: bool, seed: int, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                f"DEBUG is off: this looks like production, and the demo logins use the password {DEMO_PASSWORD!r}. "
                "Run with DEBUG=1, or pass --force if this database is for demos or benchmarks only."
            )
        if scale < 0:
            raise CommandError("--scale must be 0 or more.")
        if if_empty and any(s.has_data() for s in seeders() if s.has_data):
            self.stdout.write("The database holds data already; no demo data added.")
            self.print_logins()
            return

        started = time.perf_counter()
        with transaction.atomic():
            users = self.create_users(scale)
        faker = Faker("de_DE")
        faker.seed_instance(seed)
        # With DEBUG on, Django keeps every statement in memory and formats it (on SQLite with an
        # extra query): wasted time for tens of thousands of statements. Demo data sends no mail:
        # what the seeders' services store in the outbox (a ticket reply, say) goes to reserved
        # demo domains, stored as not sent even where CRM_EMAIL_DELIVER_RESERVED is on, and
        # anything else they stored is marked not sent below.
        first_email = OutgoingEmail.objects.aggregate(last=Max("pk"))["last"] or 0
        with override_settings(DEBUG=False, CRM_EMAIL_DELIVER_RESERVED=False):
            for seeder in seeders():
                seeder.run(scale=scale, users=users, faker=faker, log=self.log)
        OutgoingEmail.objects.filter(pk__gt=first_email, state=OutgoingEmail.State.QUEUED).update(
            state=OutgoingEmail.State.SUPPRESSED
        )
        self.log("Updating the database statistics (ANALYZE) ...")
        # The CRM's own tables only: a bare ANALYZE also takes the server's shared catalogs
        # (pg_authid), which blocks every other database's ANALYZE until this transaction ends.
        tables = sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True)
                         if model._meta.managed and not model._meta.proxy})
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(table) for table in tables))
            else:
                cursor.execute("ANALYZE")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.perf_counter() - started:.1f} s."))
        self.print_logins()

    def log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def create_users(self, scale: int) -> dict[str, list]:
        """The demo logins (made once) and their teams; role -> users."""
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)  # hashed once: Argon2 per user would take seconds
        groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
        missing = set(Role.values) - set(groups)
        if missing:
            raise CommandError(f"Role groups missing ({', '.join(sorted(missing))}): run `manage.py migrate` first.")

        wanted = list(DEMO_USERS)
        faker = Faker("de_DE")
        faker.seed_instance(len(DEMO_USERS))
        numbers: dict[str, int] = {}
        for index in range(max(0, scale // PEOPLE_PER_USER - len(DEMO_USERS))):
            role, prefix, first_number = EXTRA_USERS[index % len(EXTRA_USERS)]
            numbers[prefix] = numbers.get(prefix, first_number - 1) + 1
            wanted.append(DemoUser(f"{prefix}{numbers[prefix]}", faker.first_name(), faker.last_name(), role))

        users: dict[str, list] = {role: [] for role in Role.values}
        created = 0
        for demo in wanted:
            user, was_created = User.objects.get_or_create(
                username=demo.username,
                defaults={
                    "first_name": demo.first_name,
                    "last_name": demo.last_name,
                    "email": f"{demo.username}@example.com",
                    "password": password,
                    "is_staff": demo.role == Role.ADMIN,
                    "is_superuser": demo.role == Role.ADMIN,
                },
            )
            created += was_created
            user.groups.add(groups[demo.role])
            users[demo.role].append(user)

        for name, manager_role, member_role in DEMO_TEAMS:
            team, _ = Team.objects.get_or_create(name=name, defaults={"manager": users[manager_role][0]})
            team.members.add(*users[member_role])
        self.log(
            f"Users: {created} created, {len(wanted) - created} already there; teams: {', '.join(t[0] for t in DEMO_TEAMS)}."
        )
        return users

    def print_logins(self) -> None:
        User = get_user_model()
        usernames = [demo.username for demo in DEMO_USERS]
        existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
        if not existing:
            return
        labels = dict(Role.choices)
        self.stdout.write(f"\nDemo logins (password {DEMO_PASSWORD} unless changed since):")
        self.stdout.write(f"  {'Username':<18} {'Name':<18} Role")
        for demo in DEMO_USERS:
            user = existing.get(demo.username)
            if user:
                self.stdout.write(f"  {demo.username:<18} {user.get_full_name():<18} {labels[demo.role]}")
        more = (
            User.objects.filter(username__regex=r"^(vertrieb|support|marketing)[0-9]+$")
            .exclude(username__in=usernames)
            .count()
        )
        if more:
            self.stdout.write(
                f"  ... and {more} more users of large data sets (vertrieb4, support3, ...), same password"
            )
        self.stdout.write("")
