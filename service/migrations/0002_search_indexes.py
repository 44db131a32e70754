from django.db import migrations

from crm.search import postgres_search_index_operations


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial"), ("crm", "0002_roles_and_search_extensions")]

    operations = [*postgres_search_index_operations("service_ticket")]
