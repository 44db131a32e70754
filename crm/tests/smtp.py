"""A real SMTP server for the outbox tests (aiosmtpd on 127.0.0.1, in this process) that can be
taken away and brought back on the same port, and can refuse recipients.

    sink = SmtpSink()        # a free port, not listening yet
    sink.start(); sink.stop(); sink.start()
    sink.refuse["bounce@kunde.de"] = "550 5.1.1 No such user"
    sink.messages            # [{"rcpt": ..., "message_id": ..., "subject": ..., "message": EmailMessage}]
"""

import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

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
                    "message": message,
                })
            return f"250 2.0.0 Ok: queued as sink-{self.sink.accepted}"


class SmtpSink:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[dict] = []
        self.refuse: dict[str, str] = {}
        self.accepted = 0
        self.lock = threading.Lock()
        self._controller = None

    def start(self) -> "SmtpSink":
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            self._controller.start()
        return self

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
        return self

    def received(self, rcpt: str) -> list[dict]:
        return [m for m in self.messages if m["rcpt"] == rcpt]
