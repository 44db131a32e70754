"""The membership manager role (keeps the register of members of an association)."""

from django.db import migrations

ROLE = "membership_manager"


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=ROLE)


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ROLE).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0009_custom_fields")]

    operations = [migrations.RunPython(create_role, remove_role)]
