"""The IMAP side of the mailbox sync, on the standard library's imaplib.

Certificates are verified as for SMTP (crm.outbox.tls_client_context): against the system's CAs
and, when set, CRM_MAILBOX_SSL_CAFILE as well (users' mailboxes are at public providers and
perhaps on a company server with a private CA, so that file adds to the system's CAs). Every failure becomes a MailboxError with a code that the profile
page shows in words (MailboxConnection.Error) and the server's own answer, never the password.
"""

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from crm.outbox import tls_client_context

# Names a Sent folder has when the server does not flag it \Sent (RFC 6154 SPECIAL-USE).
SENT_NAMES = (
    "Sent", "Sent Items", "Sent Messages", "Sent Mail", "Gesendet", "Gesendete Elemente", "Gesendete Objekte",
    "INBOX.Sent", "INBOX.Gesendet", "INBOX.Sent Items", "[Gmail]/Sent Mail", "[Google Mail]/Gesendet",
)
HEADER_FIELDS = "MESSAGE-ID IN-REPLY-TO REFERENCES FROM TO CC BCC DATE SUBJECT"
_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delimiter>NIL|"(?:[^"\\]|\\.)*") (?P<name>.+)$')


class MailboxError(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code = code
        self.detail = detail[:500]


@dataclass(frozen=True)
class Account:
    host: str
    port: int
    security: str  # MailboxConnection.Security
    username: str
    password: str

    def __repr__(self) -> str:  # never the password, not even in a traceback's locals
        return f"Account({self.username!r} @ {self.host}:{self.port}, {self.security})"


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    return str(value)


def _error(error: BaseException) -> MailboxError:
    from contacts.mailboxes.models import MailboxConnection

    codes = MailboxConnection.Error
    if isinstance(error, MailboxError):
        return error
    if isinstance(error, socket.gaierror):
        return MailboxError(codes.NOT_FOUND, str(error))
    if isinstance(error, ConnectionRefusedError):
        return MailboxError(codes.REFUSED, str(error))
    if isinstance(error, TimeoutError | socket.timeout):
        return MailboxError(codes.TIMEOUT, str(error))
    if isinstance(error, ssl.SSLCertVerificationError):
        return MailboxError(codes.CERTIFICATE, error.verify_message or str(error))
    if isinstance(error, ssl.SSLError):
        return MailboxError(codes.TLS, str(error))
    if isinstance(error, OSError):
        return MailboxError(codes.REFUSED, str(error))
    return MailboxError(codes.PROTOCOL, str(error))


def tls_context() -> ssl.SSLContext:
    """For the users' own mail servers, IMAP and SMTP alike."""
    context = tls_client_context()  # the system's CAs, as for SMTP (crm.outbox)
    if settings.CRM_MAILBOX_SSL_CAFILE:  # and a private CA's, for a company's own mail server
        context.load_verify_locations(cafile=settings.CRM_MAILBOX_SSL_CAFILE)
    return context


def _open(account: Account) -> imaplib.IMAP4:
    from contacts.mailboxes.models import MailboxConnection

    timeout = settings.CRM_MAILBOX_TIMEOUT
    context = tls_context()
    if account.security == MailboxConnection.Security.STARTTLS:
        client = imaplib.IMAP4(account.host, account.port, timeout=timeout)
        if "STARTTLS" not in client.capabilities:
            client.shutdown()
            raise MailboxError(MailboxConnection.Error.TLS, "The server does not offer STARTTLS.")
        client.starttls(ssl_context=context)
    else:
        client = imaplib.IMAP4_SSL(account.host, account.port, ssl_context=context, timeout=timeout)
    try:
        if "AUTH=PLAIN" in client.capabilities:  # UTF-8 user names and passwords (LOGIN is ASCII only)
            credentials = f"\0{account.username}\0{account.password}".encode()
            client.authenticate("PLAIN", lambda challenge: credentials)
        else:
            client.login(account.username, account.password)
    except imaplib.IMAP4.error as error:
        client.shutdown()
        raise MailboxError(MailboxConnection.Error.LOGIN, _text(error.args)) from None
    return client


@contextmanager
def session(account: Account) -> Iterator["Session"]:
    """A logged-in IMAP session; every failure inside raises MailboxError."""
    try:
        client = _open(account)
    except Exception as error:  # socket, TLS, protocol: all become words on the profile page
        raise _error(error) from None
    try:
        yield Session(client)
    except (imaplib.IMAP4.error, OSError) as error:
        raise _error(error) from None
    finally:
        _close(client)


def _close(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (imaplib.IMAP4.error, OSError):  # the connection is gone already
        client.shutdown()


def check(account: Account) -> dict:
    """Connect, log in and find the folders: what the profile form does before it saves."""
    with session(account) as imap:
        return imap.folders()


def _unquote(name: bytes) -> str:
    name = name.strip()
    if name.startswith(b'"') and name.endswith(b'"'):
        name = re.sub(rb"\\(.)", rb"\1", name[1:-1])
    return decode_utf7(name.decode("ascii", "replace"))


def decode_utf7(name: str) -> str:
    """IMAP's modified UTF-7 folder names (RFC 3501 5.1.3): "Entw&APw-rfe" is "Entwürfe"."""
    def part(match):
        text = match.group(1)
        if not text:
            return "&"
        padded = text.replace(",", "/") + "=" * (-len(text) % 4)
        import base64

        return base64.b64decode(padded).decode("utf-16-be", "replace")
    return re.sub(r"&([^-]*)-", part, name)


def encode_utf7(name: str) -> str:
    import base64

    out, buffer = [], []

    def flush():
        if buffer:
            data = base64.b64encode("".join(buffer).encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append(f"&{data}-")
            buffer.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            buffer.append(char)
    flush()
    return "".join(out)


def _quote(name: str) -> str:
    encoded = encode_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Session:
    def __init__(self, client: imaplib.IMAP4):
        self.client = client

    def _ok(self, result, code=None):
        typ, data = result
        if typ != "OK":
            from contacts.mailboxes.models import MailboxConnection

            raise MailboxError(code or MailboxConnection.Error.PROTOCOL, _text(data))
        return data

    def folders(self) -> dict[str, str | None]:
        """{"inbox": "INBOX", "sent": the Sent folder's name or None}: the folder flagged \\Sent
        (SPECIAL-USE), else the first of the usual names that exists (case-insensitive)."""
        names, sent = [], None
        for line in self._ok(self.client.list()):
            if not isinstance(line, bytes):
                continue
            match = _LIST_LINE.match(line)
            if not match:
                continue
            flags = match.group("flags").lower().split()
            name = _unquote(match.group("name"))
            if b"\\noselect" in flags or b"\\nonexistent" in flags:
                continue
            names.append(name)
            if b"\\sent" in flags and sent is None:
                sent = name
        if sent is None:
            by_lower = {n.lower(): n for n in names}
            sent = next((by_lower[n.lower()] for n in SENT_NAMES if n.lower() in by_lower), None)
        return {"inbox": "INBOX", "sent": sent}

    def select(self, name: str) -> int:
        """Opens the folder read-only; returns its UIDVALIDITY."""
        from contacts.mailboxes.models import MailboxConnection

        self._ok(self.client.select(_quote(name), readonly=True), MailboxConnection.Error.FOLDER)
        value = self.client.response("UIDVALIDITY")[1]
        if not value or not value[-1]:
            raise MailboxError(MailboxConnection.Error.PROTOCOL, f"No UIDVALIDITY for {name}")
        return int(value[-1])

    def uids_after(self, last_uid: int) -> list[int]:
        data = self._ok(self.client.uid("SEARCH", None, f"UID {last_uid + 1}:*"))
        uids = sorted({int(u) for chunk in data if chunk for u in chunk.split()})
        return [u for u in uids if u > last_uid]  # "n:*" also matches the highest UID when it is below n

    def _fetch(self, uids: list[int], what: str) -> dict[int, bytes]:
        if not uids:
            return {}
        data = self._ok(self.client.uid("FETCH", ",".join(str(u) for u in uids), f"(UID {what})"))
        found = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                match = re.search(rb"UID (\d+)", item[0])
                if match:
                    found[int(match.group(1))] = item[1]
        return found

    def headers(self, uids: list[int]) -> dict[int, bytes]:
        return self._fetch(uids, f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]")

    def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        data = self._ok(self.client.uid("FETCH", ",".join(str(u) for u in uids), "(UID RFC822.SIZE)"))
        sizes = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if isinstance(line, bytes):
                uid, size = re.search(rb"UID (\d+)", line), re.search(rb"RFC822\.SIZE (\d+)", line)
                if uid and size:
                    sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def append(self, name: str, raw: bytes) -> None:
        """Files a message in the folder, read (\\Seen), as a mail client files what it sent."""
        from contacts.mailboxes.models import MailboxConnection

        self._ok(self.client.append(_quote(name), "(\\Seen)", None, raw), MailboxConnection.Error.FOLDER)

    def messages(self, uids: list[int]) -> dict[int, bytes]:
        return self._fetch(uids, "BODY.PEEK[]")
