"""The suppression list keeps erased people's addresses as keyed hashes (HMAC with SECRET_KEY):
a copy of the database does not let anyone test guessed addresses, the entries of the old
plain SHA-256 list still match after the migration, and a rotated SECRET_KEY kept as a
fallback still matches."""

import hashlib
import importlib

import pytest
from django.apps import apps

from contacts.tests.factories import PersonFactory
from marketing import services
from marketing.models import Delivery, SuppressedAddress
from marketing.privacy import email_hash, is_suppressed, suppress
from marketing.tests.factories import CampaignFactory, CampaignMemberFactory, ConsentFactory

pytestmark = pytest.mark.django_db

ADDRESS = "Erika.Mustermann@Beispiel.de"


def plain_sha256_forms(address: str) -> set[str]:
    """What a guesser with the database computes: SHA-256 of the address, with and without the
    old list's fixed prefix."""
    forms = {address, address.lower(), f"crm-suppression:{address.lower()}"}
    return {hashlib.sha256(form.encode()).hexdigest() for form in forms}


def test_the_stored_value_is_a_keyed_hash_not_a_sha256_of_the_address():
    suppress(ADDRESS)

    stored = SuppressedAddress.objects.get().email_hash
    assert stored not in plain_sha256_forms(ADDRESS)
    assert len(stored) == 64 and stored == email_hash(ADDRESS.lower()) and is_suppressed(" erika.mustermann@beispiel.DE ")
    assert not suppress(ADDRESS)  # once


def test_the_hash_depends_on_the_secret_key_and_a_rotated_key_kept_as_fallback_still_matches(settings):
    suppress(ADDRESS)
    before = email_hash(ADDRESS)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-secret-key-after-rotation-0123456789abcdefghij"

    assert email_hash(ADDRESS) != before
    assert is_suppressed(ADDRESS)
    assert not suppress(ADDRESS)  # not listed twice under the new key


def test_old_sha256_entries_still_suppress_after_the_migration():
    old = hashlib.sha256(f"crm-suppression:{ADDRESS.lower()}".encode()).hexdigest()  # what 0003-0006 stored
    SuppressedAddress.objects.create(email_hash=old)
    assert not is_suppressed(ADDRESS)

    migration = importlib.import_module("marketing.migrations.0007_suppressed_address_keyed_hash")
    migration.wrap_old_hashes(apps, schema_editor=None)

    stored = SuppressedAddress.objects.get().email_hash
    assert stored == email_hash(ADDRESS) and stored not in plain_sha256_forms(ADDRESS)
    assert is_suppressed(ADDRESS)
    # ... and a campaign skips the address when it comes back (by an import, with a consent).
    returned, other = PersonFactory(email=ADDRESS.lower()), PersonFactory(email="jemand@beispiel.de")
    campaign = CampaignFactory()
    for person in (returned, other):
        ConsentFactory(person=person)
        CampaignMemberFactory(campaign=campaign, person=person)
    services.campaign_start_send(campaign=campaign)
    assert services.campaign_prepare_send(campaign_id=campaign.pk) == 1
    assert list(Delivery.objects.filter(campaign=campaign).values_list("email", flat=True)) == ["jemand@beispiel.de"]
