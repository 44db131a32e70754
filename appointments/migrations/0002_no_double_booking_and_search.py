"""No double booking on Postgres: an exclusion constraint over each host's blocked time ranges.

It stays outside the migration state on purpose: SQLite cannot hold an exclusion constraint and
rebuilds tables from the state, so only Postgres gets it (appointment_book() checks on SQLite).
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from crm.search import postgres_search_index_operations

CONSTRAINT = "appointments_no_double_booking"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE appointments_appointment ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(host_id WITH =, tstzrange(blocked_start, blocked_end, '[)') WITH &&) WHERE (status <> 'cancelled')"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
    ]

    operations = [
        # CreateExtension does nothing on databases other than Postgres.
        BtreeGistExtension(),
        migrations.RunPython(add_constraint, drop_constraint, elidable=False),
        *postgres_search_index_operations("appointments_appointment"),
    ]
