"""Trigram and full-text GIN indexes for the global search (Postgres only)."""

from django.db import migrations

from crm.search import postgres_search_index_operations


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0001_initial"),
        ("crm", "0002_roles_and_search_extensions"),
    ]

    operations = [
        *postgres_search_index_operations("sales_deal"),
        *postgres_search_index_operations("sales_lead"),
        *postgres_search_index_operations("sales_product"),
    ]
