"""A real SMTP server for the outbox tests (aiosmtpd on 127.0.0.1, in this process) that can be
taken away and brought back on the same port, and can refuse recipients.

    sink = SmtpSink()        # a free port, not listening yet
    sink.start(); sink.stop(); sink.start()
    sink.refuse["bounce@kunde.de"] = "550 5.1.1 No such user"
    sink.messages            # [{"rcpt": ..., "message_id": ..., "subject": ..., "message": EmailMessage,
                             #   "mail_options": [...], "tls": bool, "client_certificate": bool}]

With TLS (crm/tests/certificates.py for a certificate): `SmtpSink(tls=context)` offers STARTTLS
and refuses mail without it; `SmtpSink(tls=context, implicit_tls=True)` speaks TLS from the
first byte (port 465 style). `smtputf8=True` offers SMTPUTF8; `require_client_certificate=True`
refuses MAIL FROM unless the client showed a certificate the server's context trusts.
`users={"anna@firma.de": "geheim"}` requires a login (AUTH PLAIN/LOGIN, after STARTTLS when
TLS is offered) and records it per message ("login").
"""

import email
import email.policy
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 (aiosmtpd API)
        if self.sink.require_client_certificate and not server.transport.get_extra_info("peercert"):
            return "530 5.7.0 A client certificate is required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        refusal = self.sink.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.SMTP)
        with self.sink.lock:
            self.sink.accepted += 1
            for rcpt in envelope.rcpt_tos:
                self.sink.messages.append({
                    "rcpt": rcpt, "message_id": message.get("Message-ID", ""), "subject": str(message.get("Subject", "")),
                    "message": message, "mail_from": envelope.mail_from, "mail_options": list(envelope.mail_options),
                    "tls": server.transport.get_extra_info("ssl_object") is not None,
                    "client_certificate": bool(server.transport.get_extra_info("peercert")),
                    "login": session.auth_data if self.sink.users else None,
                })
            return f"250 2.0.0 Ok: queued as sink-{self.sink.accepted}"


class SmtpSink:
    def __init__(
        self, port: int | None = None, *, tls: ssl.SSLContext | None = None, implicit_tls: bool = False,
        smtputf8: bool = False, require_client_certificate: bool = False, users: dict[str, str] | None = None,
    ):
        self.users = users or {}
        self.port = port or free_port()
        self.messages: list[dict] = []
        self.refuse: dict[str, str] = {}
        self.accepted = 0
        self.lock = threading.Lock()
        self.tls, self.implicit_tls, self.smtputf8 = tls, implicit_tls, smtputf8
        self.require_client_certificate = require_client_certificate
        self._controller = None

    def start(self) -> "SmtpSink":
        if self._controller is None:
            options = {"enable_SMTPUTF8": self.smtputf8}
            if self.users:
                options.update(authenticator=self._authenticate, auth_required=True,
                               auth_require_tls=not (self.tls is not None and self.implicit_tls))
            if self.tls is not None and self.implicit_tls:
                options["ssl_context"] = self.tls
            elif self.tls is not None:
                options.update(tls_context=self.tls, require_starttls=True)
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
            self._controller.start()
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else str(auth_data.login)
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else str(auth_data.password)
        success = login in self.users and self.users[login] == password
        return AuthResult(success=success, handled=False, auth_data=login if success else None)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def use(self, settings) -> "SmtpSink":
        """Points Django's SMTP settings (the outbox's backend) at this server."""
        settings.EMAIL_BACKEND = "crm.outbox.SMTPBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", self.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        if self.tls is not None:
            settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = not self.implicit_tls, self.implicit_tls
        return self

    def received(self, rcpt: str) -> list[dict]:
        return [m for m in self.messages if m["rcpt"] == rcpt]
