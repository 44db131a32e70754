"""A raw message (RFC 5322 bytes) as the timeline stores it: addresses, threading headers, a text
body, attachments. Robust against what real mailboxes hold: unknown charsets, broken base64,
headers that do not parse, HTML-only mail. Nothing here raises for a bad message; what cannot
be read is left out and the rest is kept."""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from django.utils import timezone

MAX_BODY = 100_000


@dataclass
class Headers:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_address: str
    recipients: list[str]  # To, Cc and Bcc
    subject: str
    sent_at: datetime | None

    @property
    def addresses(self) -> list[str]:
        return [a for a in dict.fromkeys([self.from_address, *self.recipients]) if a]

    @property
    def thread_key(self) -> str:
        """The thread's first message: the first of References, else In-Reply-To, else this one."""
        return (self.references[0] if self.references else self.in_reply_to or self.message_id)[:255]

    @property
    def key(self) -> str:
        """The dedup key: the Message-ID, else a digest of the headers that identify the message
        (the same in every folder it is copied or moved to)."""
        if self.message_id:
            return self.message_id[:255]
        basis = "\n".join([self.from_address, ",".join(self.recipients), self.subject,
                           self.sent_at.isoformat() if self.sent_at else ""])
        return "sha256:" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


@dataclass
class Attachment:
    name: str
    content_type: str
    content: bytes


@dataclass
class Parsed:
    headers: Headers
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    defects: int = 0


def _decoded(value) -> str:
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:  # an undecodable encoded word: keep the raw text
        return str(value)


def _ids(value) -> list[str]:
    return re.findall(r"<[^<>\s]+>", str(value or ""))


def _address_list(values) -> list[str]:
    found = []
    for _name, address in getaddresses([str(v) for v in values if v is not None]):
        address = address.strip().lower()
        if "@" in address and len(address) <= 254:
            found.append(address)
    return found


def headers_of(raw: bytes) -> Headers:
    """The headers only (the first fetch, before deciding whether the body is needed)."""
    return _headers(message_from_bytes(raw, policy=policy.compat32))


def _headers(message) -> Headers:
    message_ids = _ids(message.get("Message-ID"))
    date = None
    try:
        date = parsedate_to_datetime(str(message.get("Date"))) if message.get("Date") else None
        if date is not None and timezone.is_naive(date):
            date = timezone.make_aware(date, timezone.get_fixed_timezone(0))
    except (TypeError, ValueError, IndexError):
        date = None
    senders = _address_list(message.get_all("From", []))
    return Headers(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=(_ids(message.get("In-Reply-To")) or [""])[0][:255],
        references=_ids(message.get("References")),
        from_address=senders[0] if senders else "",
        recipients=_address_list(message.get_all("To", []) + message.get_all("Cc", []) + message.get_all("Bcc", [])),
        subject=" ".join(_decoded(message.get("Subject")).split())[:200],
        sent_at=date,
    )


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "head"}:
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in {"script", "style", "head"} and self.skip:
            self.skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)  # HTMLParser is lenient: broken markup yields what text it can
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _part_text(part) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("latin-1", "replace")


def parse(raw: bytes, headers: Headers | None = None) -> Parsed:
    """The whole message; `headers` when they were read already (the sync's first fetch)."""
    message = message_from_bytes(raw, policy=policy.compat32)
    headers = headers or _headers(message)
    plain, html, attachments, defects = None, None, [], len(message.defects)
    for part in message.walk():
        defects += len(getattr(part, "defects", []))
        if part.is_multipart():
            continue
        try:
            disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
            filename = _decoded(part.get_filename()) if part.get_filename() else ""
            content_type = part.get_content_type()
            if disposition == "attachment" or (filename and disposition != "inline") or (
                filename and not content_type.startswith("text/")
            ):
                content = part.get_payload(decode=True) or b""
                attachments.append(Attachment(name=(filename or "attachment")[:200], content_type=content_type[:100], content=content))
            elif content_type == "text/plain" and plain is None:
                plain = _part_text(part)
            elif content_type == "text/html" and html is None:
                html = _part_text(part)
        except Exception:  # one broken part: the others are still worth keeping
            defects += 1
    body = plain if plain is not None and plain.strip() else html_to_text(html) if html else (plain or "")
    body = body.replace("\r\n", "\n").replace("\x00", "").strip()[:MAX_BODY]
    return Parsed(headers=headers, body=body, attachments=attachments, defects=defects)

