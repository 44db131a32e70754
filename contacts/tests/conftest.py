import pytest

from crm.tests import dovecot

ALICE_MAIL, PASSWORD = "alice@crm.test", "Passwört-123"


@pytest.fixture
def imap_server(settings):
    """A private Dovecot (crm/tests/dovecot.py) whose certificate the CRM trusts, with alice's
    and bob's mailboxes."""
    server = dovecot.start(users={ALICE_MAIL: PASSWORD, "bob@crm.test": "bobs-passwort"})
    settings.CRM_MAILBOX_SSL_CAFILE = str(server.certificate.cert)
    yield server
    server.stop()
