"""Messages as real mail clients write them, for the mailbox sync tests and benchmark."""

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def message(*, sender: str, to: str, subject: str, body: str = "Guten Tag,\n\nbeste Grüße", html: str | None = None,
            attachments: list[tuple[str, str, bytes]] = (), message_id: str | None = None, in_reply_to: str = "",
            references: str = "", when: datetime | None = None, cc: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(when or datetime(2026, 11, 17, 9, 30, tzinfo=BERLIN))
    mail["Message-ID"] = message_id or make_msgid(domain="mail.example.de")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    if html is not None and body is None:
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(body)
        if html is not None:
            mail.add_alternative(html, subtype="html")
    for name, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()


def broken_mime(*, sender: str, to: str, subject: str) -> bytes:
    """A multipart message with a missing closing boundary, a part in an unknown charset and an
    attachment whose base64 is cut off, as broken mailers and truncating gateways produce."""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Tue, 17 Nov 2026 10:00:00 +0100\r\n"
        "Message-ID: <kaputt-1@mail.example.de>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        "--XYZ\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nLesbarer Teil trotz kaputter MIME-Struktur\r\n"
        "--XYZ\r\nContent-Type: application/pdf; name=angebot.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="angebot.pdf"\r\n\r\nJVBERi0xLjQKJcfs\r\nj6IKMSAwIG9iago8P=\r\n'
    ).encode()


def numbered(n: int, *, sender: str, to: str, start: datetime | None = None) -> bytes:
    when = (start or datetime(2026, 10, 1, 8, 0, tzinfo=BERLIN)) + timedelta(minutes=n)
    return message(sender=sender, to=to, subject=f"Angebot Nr. {n} – Größenänderung", when=when,
                   message_id=f"<msg-{n}@mail.example.de>", body=f"Nachricht {n}: Grüße aus Köln")


def benchmark_messages(total: int, *, known: list[str], own: str, rng) -> list[tuple[str, bytes]]:
    """(folder, raw) for `total` messages: 30 % in "Gesendet", 4 in 5 with a known address, every
    tenth with a PDF attachment, every tenth HTML only."""
    items = []
    for n in range(total):
        other = rng.choice(known) if n % 5 else f"fremd{n}@irgendwo.example"
        folder = "Gesendet" if n % 10 < 3 else "INBOX"
        sender, to = (own, other) if folder == "Gesendet" else (other, own)
        subject = f"Anfrage {n}: Größe und Maße"
        if n % 10 == 4:
            raw = message(sender=sender, to=to, subject=subject, message_id=f"<bench-{n}-{rng.random()}@example.de>",
                          attachments=[(f"Aufmaß-{n}.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 20_000)])
        elif n % 10 == 6:
            raw = message(sender=sender, to=to, subject=subject, body=None, html=f"<p>Grüße <b>{n}</b></p>",
                          message_id=f"<bench-{n}-{rng.random()}@example.de>")
        else:
            raw = message(sender=sender, to=to, subject=subject, body=f"Guten Tag,\n\nNachricht {n}.\n\nGrüße aus Köln",
                          message_id=f"<bench-{n}-{rng.random()}@example.de>")
        items.append((folder, raw))
    return items
