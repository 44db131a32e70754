from django.db import migrations

from crm.search import postgres_search_index_operations


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]

    operations = [
        *postgres_search_index_operations("marketing_campaign"),
        *postgres_search_index_operations("marketing_segment"),
        *postgres_search_index_operations("marketing_webform"),
    ]
