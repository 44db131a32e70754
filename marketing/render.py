"""Personalised campaign email: placeholders, tracked links, the open pixel, unsubscribe headers.

Placeholders are a fixed set ({{ salutation }}, {{ first_name }}, ...) replaced by plain values,
HTML-escaped in the HTML part; no template language runs on text that marketing users write.
"""

import binascii
import re
import secrets
from dataclasses import dataclass
from email.header import Header as EmailHeader
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from crm.links import absolute_url
from marketing import tokens

PLACEHOLDERS = {
    "salutation": _("Letter salutation, e.g. “Sehr geehrte Frau Dr. Weber”"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "full_name": _("Full name with title"),
    "organization": _("Main organization"),
    "email": _("Email address"),
}
PLACEHOLDER_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
LINK_RE = re.compile(r"""href\s*=\s*["'](https?://[^"'\s<>]+)["']""", re.IGNORECASE)
UNSUBSCRIBE_TEXT = {
    "de": ("Sie möchten keine E-Mails mehr erhalten? Abmelden", "Einstellungen"),
    "en": ("Don't want these emails any more? Unsubscribe", "Preferences"),
}


def base_url() -> str:
    return absolute_url("")


def person_values(person, organization: str = "") -> dict[str, str]:
    return {
        "salutation": person.letter_salutation,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "full_name": person.full_name,
        "organization": organization,
        "email": person.email,
    }


def fill(text: str, values: dict[str, str], *, html: bool) -> str:
    def replace(match):
        if match.group(1) not in values:
            return match.group(0)
        value = values[match.group(1)] or ""
        return escape(value) if html else value

    return PLACEHOLDER_RE.sub(replace, text)


def unknown_placeholders(*texts: str) -> list[str]:
    return sorted({m.group(1) for t in texts for m in PLACEHOLDER_RE.finditer(t or "")} - set(PLACEHOLDERS))


def extract_links(html: str) -> list[str]:
    """The distinct http(s) links of an HTML body, in order: the only targets the click redirect accepts."""
    seen = []
    for url in LINK_RE.findall(html or ""):
        if url not in seen:
            seen.append(url)
    return seen


def text_from_html(html: str) -> str:
    text = LINK_RE.sub(lambda m: f'href="{m.group(1)}"', html)
    text = re.sub(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", r"\2 (\1)", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<(br|/p|/h\d|/li|/tr)\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = strip_tags(text)
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


@dataclass(frozen=True)
class Content:
    subject: str
    html: str
    text: str
    language: str
    links: tuple[str, ...] = ()


def template_content(template) -> Content:
    html = template.body_html
    return Content(
        subject=template.subject,
        html=html,
        text=template.body_text or text_from_html(html),
        language=template.language,
        links=tuple(extract_links(html)),
    )


def campaign_content(campaign) -> Content:
    return Content(campaign.sent_subject, campaign.sent_html, campaign.sent_text, campaign.sent_language, tuple(campaign.links))


@dataclass(frozen=True)
class Personalised:
    """One recipient's message before it becomes MIME: what both serialisations below share."""

    subject: str
    text: str
    html: str  # the whole HTML document
    from_email: str
    to: str
    headers: dict[str, str]


@lru_cache(maxsize=16)
def _path_around_token(name: str) -> tuple[str, str]:
    """The path of a URL that takes one token, split around it: reverse() once, not per recipient."""
    path = reverse(name, args=["TOKEN"])
    before, after = path.split("TOKEN", 1)
    return before, after


def _token_url(root: str, name: str, token: str) -> str:
    before, after = _path_around_token(name)
    return f"{root}{before}{token}{after}"


def personalise(
    content: Content, *, person, organization: str = "", to: str, campaign_id: int | None = None,
    delivery_id: int | None = None, from_email: str | None = None,
) -> Personalised:
    """Placeholders filled, links tracked, open pixel and unsubscribe footer added, headers set."""
    root = base_url()
    values = person_values(person, organization)
    html = fill(content.html, values, html=True)
    text = fill(content.text, values, html=False)
    subject = fill(content.subject, values, html=False).replace("\n", " ").replace("\r", " ")
    recipient = tokens.recipient_token(person.pk, campaign_id)
    unsubscribe_url = _token_url(root, "marketing:unsubscribe", recipient)
    preferences_url = _token_url(root, "marketing:preferences", recipient)
    if delivery_id is not None:
        index = {url: i for i, url in enumerate(content.links)}

        def track(match):
            url = match.group(1)
            if url not in index:
                return match.group(0)
            tracked = _token_url(root, "marketing:track_click", tokens.click_token(delivery_id, index[url]))
            return f'href="{tracked}"'

        html = LINK_RE.sub(track, html)
        pixel = _token_url(root, "marketing:track_open", tokens.open_token(delivery_id))
        html += f'\n<img src="{pixel}" width="1" height="1" alt="" style="display:none">'
    words = UNSUBSCRIBE_TEXT.get(content.language, UNSUBSCRIBE_TEXT["de"])
    html += (
        f'\n<p style="font-size:12px;color:#666">{escape(words[0])}: <a href="{unsubscribe_url}">{unsubscribe_url}</a>'
        f' · <a href="{preferences_url}">{escape(words[1])}</a></p>'
    )
    text += f"\n\n--\n{words[0]}: {unsubscribe_url}\n{words[1]}: {preferences_url}\n"
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        **({"X-Campaign": str(campaign_id)} if campaign_id else {}),
    }
    return Personalised(
        subject=subject, text=text, html=f"<!doctype html>\n<html><body>\n{html}\n</body></html>",
        from_email=from_email or settings.DEFAULT_FROM_EMAIL, to=to, headers=headers,
    )


def build_message(content: Content, **recipient) -> EmailMultiAlternatives:
    """One valid multipart/alternative message (text + HTML) with RFC 8058 one-click unsubscribe,
    for Django's email backends (test sends, console and locmem backends)."""
    return email_message(personalise(content, **recipient))


def email_message(p: Personalised) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=p.subject, body=p.text, from_email=p.from_email, to=[p.to], headers=p.headers)
    message.attach_alternative(p.html, "text/html")
    return message


def _qp(text: str) -> bytes:
    """Quoted-printable UTF-8 with CRLF line ends (C speed; the email package folds in Python)."""
    data = binascii.b2a_qp(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"), istext=True)
    return _BARE_LF.sub(b"\r\n", data)


_BARE_LF = re.compile(rb"(?<!\r)\n")


def _header(name: str, value: str) -> bytes:
    if value.isascii() and len(name) + len(value) < 900:
        return f"{name}: {value}\r\n".encode("ascii")
    encoded = EmailHeader(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def message_bytes(p: Personalised, *, message_domain: str) -> bytes | None:
    """The message as SMTP DATA (CRLF, not dot-stuffed), built directly: about ten times faster
    than the email package for a campaign's thousands of messages. Both parts quoted-printable;
    the boundary starts with "=_", which quoted-printable text can never contain.

    None when an address is not plain ASCII: such a message goes through `build_message`."""
    if not (p.to.isascii() and all(v.isascii() for v in p.headers.values())):
        return None
    name, address = parseaddr(p.from_email)
    if not address.isascii():
        return None
    boundary = f"=_crm_{secrets.token_hex(12)}"
    head = b"".join([
        _header("From", formataddr((name, address), charset="utf-8")),
        _header("To", p.to),
        _header("Subject", p.subject),
        _header("Date", formatdate(localtime=True)),
        _header("Message-ID", f"<{secrets.token_hex(16)}@{message_domain}>"),
        *(_header(key, value) for key, value in p.headers.items()),
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode("ascii"),
    ])
    part = f'--{boundary}\r\nContent-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    return b"".join([
        head, b"\r\n",
        (part % "plain").encode("ascii"), _qp(p.text), b"\r\n",
        (part % "html").encode("ascii"), _qp(p.html), b"\r\n",
        f"--{boundary}--\r\n".encode("ascii"),
    ])
