"""The suppression list stored SHA-256("crm-suppression:" + address): anyone with a copy of the
database could test guessed addresses against it. Its entries now hold an HMAC keyed with
SECRET_KEY of that same digest (marketing.privacy.email_hash).

The addresses behind the old entries are gone (they are the addresses of erased people), so they
cannot be hashed afresh; but the old value is exactly the message of the new HMAC, so each entry
is converted in place, without knowing its address and without a second column or a transition
period (the pattern of Django's "wrapped" password hashers). Not reversible: the plain digests are
not kept anywhere.
"""

from django.db import migrations, models
from django.utils.crypto import salted_hmac

KEY_SALT = "marketing.privacy.suppressed-address"  # as marketing.privacy.SUPPRESSION_KEY_SALT


def wrap_old_hashes(apps, schema_editor):
    SuppressedAddress = apps.get_model("marketing", "SuppressedAddress")
    rows = []
    for row in SuppressedAddress.objects.only("pk", "email_hash").iterator(chunk_size=2_000):
        row.email_hash = salted_hmac(KEY_SALT, row.email_hash, algorithm="sha256").hexdigest()
        rows.append(row)
        if len(rows) == 2_000:
            SuppressedAddress.objects.bulk_update(rows, ["email_hash"])
            rows = []
    SuppressedAddress.objects.bulk_update(rows, ["email_hash"])


class Migration(migrations.Migration):

    dependencies = [
        ('marketing', '0006_delivery_next_attempt_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='suppressedaddress',
            name='email_hash',
            field=models.CharField(max_length=64, unique=True, verbose_name='email hash (HMAC-SHA-256)'),
        ),
        migrations.RunPython(wrap_old_hashes, reverse_code=None, elidable=False),
    ]
