"""The role groups, and the pg_trgm extension that the global search needs on Postgres.

Accent folding (Müller = Mueller = Muller) happens in Python (crm.text) before the text is
stored in `search_key`, so both databases agree and no unaccent() wrapper is needed in indexes."""

from django.db import migrations

ROLES = ["admin", "sales_manager", "sales_rep", "marketing", "support_lead", "support_agent"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


def create_extensions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles, remove_roles),
        migrations.RunPython(create_extensions, migrations.RunPython.noop),
    ]
