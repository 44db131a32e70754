"""The service mailbox is read over IMAP with TLS that verifies the server's certificate
(imaplib's default context verifies nothing): a real TLS server on 127.0.0.1 with a self-signed
certificate made in the test, speaking just enough IMAP for connect() and LOGIN."""

import socket
import ssl
import threading

import pytest

from crm.tests.certificates import self_signed
from service.management.commands.service_fetch_imap import connect


class TinyImapServer:
    """Greets, answers CAPABILITY and LOGIN, and says BYE to anything else."""

    def __init__(self, context: ssl.SSLContext):
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.logins: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                raw, _address = self.listener.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(raw, server_side=True) as conn:
                    self._session(conn)
            except (OSError, ssl.SSLError):
                continue  # the client refused our certificate

    def _session(self, conn):
        conn.sendall(b"* OK IMAP4rev1 ready\r\n")
        reader = conn.makefile("rb")
        for line in reader:
            tag, _, rest = line.decode().strip().partition(" ")
            command = rest.split(" ", 1)[0].upper()
            if command == "CAPABILITY":
                conn.sendall(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n".encode())
            elif command == "LOGIN":
                self.logins.append(rest.split(" ")[1])
                conn.sendall(f"{tag} OK logged in\r\n".encode())
            else:
                conn.sendall(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return

    def stop(self):
        self.listener.close()


@pytest.fixture
def certificate(tmp_path):
    return self_signed(tmp_path, "imap-server")


@pytest.fixture
def imap_server(settings, certificate):
    server = TinyImapServer(certificate.server_context())
    settings.SERVICE_IMAP_HOST, settings.SERVICE_IMAP_PORT, settings.SERVICE_IMAP_SSL = "127.0.0.1", server.port, True
    settings.SERVICE_IMAP_USER, settings.SERVICE_IMAP_PASSWORD = "support", "geheim"
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


def test_an_untrusted_certificate_is_refused_before_the_password_is_sent_unless_the_ca_file_trusts_it(
    imap_server, settings, certificate
):
    with pytest.raises(ssl.SSLCertVerificationError):
        connect()
    assert imap_server.logins == []

    settings.SERVICE_IMAP_SSL_CAFILE = str(certificate.cert)
    client = connect()
    client.shutdown()

    assert imap_server.logins == ["support"]
