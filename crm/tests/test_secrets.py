"""Encrypted secrets (crm.secrets): keys from CRM_SECRET_KEYS rotate; a value encrypted with a
key that is gone is reported, not returned as garbage."""

import pytest
from cryptography.fernet import Fernet

from crm import secrets


def test_it_encrypts_so_the_plain_text_is_not_stored(settings):
    settings.CRM_SECRET_KEYS = [Fernet.generate_key().decode()]
    token = secrets.encrypt("Passwört")
    assert "Passwört" not in token and secrets.decrypt(token) == "Passwört"


def test_a_key_rotates(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CRM_SECRET_KEYS = [old]
    token = secrets.encrypt("geheim")
    settings.CRM_SECRET_KEYS = [new, old]
    assert secrets.decrypt(token) == "geheim"
    rotated = secrets.reencrypt(token)
    settings.CRM_SECRET_KEYS = [new]
    assert secrets.decrypt(rotated) == "geheim"
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(token)


def test_without_keys_one_is_derived_from_the_secret_key(settings):
    settings.CRM_SECRET_KEYS = []
    token = secrets.encrypt("geheim")
    settings.SECRET_KEY = "ein-anderer-schluessel-" + "x" * 40
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(token)


def test_the_command_reencrypts_mailbox_passwords_with_the_newest_key(settings, alice):
    from io import StringIO

    from django.core.management import call_command

    from contacts.mailboxes.models import MailboxConnection

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CRM_SECRET_KEYS = [old]
    connection = MailboxConnection(user=alice, host="imap.crm.test", username="alice@crm.test")
    connection.set_password("Passwört")
    connection.save()
    settings.CRM_SECRET_KEYS = [new, old]
    output = StringIO()

    call_command("mailbox_passwords_reencrypt", stdout=output)

    assert "1 re-encrypted, 0 unreadable" in output.getvalue() and "Passwört" not in output.getvalue()
    settings.CRM_SECRET_KEYS = [new]
    connection.refresh_from_db()
    assert connection.password() == "Passwört"


def test_the_command_reencrypts_the_smtp_password_too(settings, alice):
    from io import StringIO

    from django.core.management import call_command

    from contacts.mailboxes.models import MailboxConnection

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CRM_SECRET_KEYS = [old]
    connection = MailboxConnection(user=alice, host="imap.crm.test", username="alice@crm.test",
                                   smtp_host="smtp.crm.test", smtp_username="alice@crm.test")
    connection.set_password("Passwört")
    connection.set_smtp_password("SMTP-Passwört")
    connection.save()
    settings.CRM_SECRET_KEYS = [new, old]
    output = StringIO()

    call_command("mailbox_passwords_reencrypt", stdout=output)

    assert "2 re-encrypted, 0 unreadable" in output.getvalue() and "SMTP-Passwört" not in output.getvalue()
    settings.CRM_SECRET_KEYS = [new]
    connection.refresh_from_db()
    assert connection.password() == "Passwört" and connection.smtp_password() == "SMTP-Passwört"
