"""Signed tokens for the links in marketing email and on public pages.

Each link carries only ids, signed with the project's secret and a purpose-specific salt, so a
token made for one purpose (an open pixel) is worthless for another (an unsubscribe).
"""

from django.core import signing

CONFIRM_MAX_AGE = 7 * 24 * 3600  # a double opt-in link works for a week

_open = signing.Signer(salt="marketing.open", sep=".")
_click = signing.Signer(salt="marketing.click", sep=".")
_recipient = signing.Signer(salt="marketing.recipient", sep=".")
_confirm = signing.TimestampSigner(salt="marketing.confirm", sep=".")
_form = signing.TimestampSigner(salt="marketing.form", sep=".")


def _ints(value: str, count: int) -> tuple[int, ...] | None:
    parts = value.split("-")
    if len(parts) != count or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def open_token(delivery_id: int) -> str:
    return _open.sign(str(delivery_id))


def read_open_token(token: str) -> int | None:
    try:
        found = _ints(_open.unsign(token), 1)
    except signing.BadSignature:
        return None
    return found[0] if found else None


def click_token(delivery_id: int, link_index: int) -> str:
    return _click.sign(f"{delivery_id}-{link_index}")


def read_click_token(token: str) -> tuple[int, int] | None:
    try:
        return _ints(_click.unsign(token), 2)
    except signing.BadSignature:
        return None


def recipient_token(person_id: int, campaign_id: int | None = None) -> str:
    """For the unsubscribe link and the preference centre: who, and from which campaign."""
    return _recipient.sign(f"{person_id}-{campaign_id or 0}")


def read_recipient_token(token: str) -> tuple[int, int | None] | None:
    try:
        found = _ints(_recipient.unsign(token), 2)
    except signing.BadSignature:
        return None
    if not found:
        return None
    return found[0], (found[1] or None)


def confirm_token(consent_id: int) -> str:
    return _confirm.sign(str(consent_id))


def read_confirm_token(token: str) -> int | None:
    try:
        found = _ints(_confirm.unsign(token, max_age=CONFIRM_MAX_AGE), 1)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return found[0] if found else None


def form_token(form_id: int) -> str:
    """Issued with the public form; a post without a fresh one for this form is refused."""
    return _form.sign(str(form_id))


def form_token_valid(token: str, form_id: int, max_age: int = 24 * 3600) -> bool:
    try:
        return _form.unsign(token or "", max_age=max_age) == str(form_id)
    except signing.BadSignature:
        return False
