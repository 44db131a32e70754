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


@pytest.fixture
def carddav_server():
    """A private Radicale (crm/tests/radicale.py) with alice's account, no address book yet."""
    from contacts.tests.carddav_phone import CARDDAV_PASSWORD, CARDDAV_USER
    from crm.tests import radicale

    radicale.require_radicale()
    server = radicale.start(users={CARDDAV_USER: CARDDAV_PASSWORD})
    yield server
    server.cleanup()


@pytest.fixture
def alice_book(alice, carddav_server, django_capture_on_commit_callbacks):
    """Alice's Radicale address book "CRM" connected (scope: all she may see); the first push is
    left to the test (the callbacks queued by the connect are not run)."""
    from contacts.addressbooks.sync import addressbook_connect
    from contacts.tests.carddav_phone import CARDDAV_PASSWORD, CARDDAV_USER

    with django_capture_on_commit_callbacks(execute=False):
        return addressbook_connect(user=alice, url=carddav_server.url, username=CARDDAV_USER, password=CARDDAV_PASSWORD,
                                   addressbook_name="CRM")
