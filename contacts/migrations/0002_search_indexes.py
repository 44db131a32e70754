"""Trigram and full-text GIN indexes for the global search (Postgres only)."""

from django.db import migrations

from crm.search import postgres_search_index_operations


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
        ("crm", "0002_roles_and_search_extensions"),
    ]

    operations = [
        *postgres_search_index_operations("contacts_person"),
        *postgres_search_index_operations("contacts_organization"),
    ]
