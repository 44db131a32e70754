"""Personal API tokens: made with a secret that is shown once, stored as its SHA-256.

A token reads `crm_<prefix>_<secret>`: the prefix finds the row, the secret (32 random bytes)
is what proves it. A fast hash is enough for a random secret of that length (there is nothing
to guess, unlike a password); comparing in constant time keeps the check from leaking it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm.models import ApiToken

TOKEN_PREFIX = "crm"  # noqa: S105  (the visible start of every token, not a secret)
# last_used_* is written at most this often per token: a write on every request would cost more
# than the request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, as the client sends it; never stored


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user, name: str, scope: str, expires_at=None) -> NewToken:
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name.strip(), scope=scope, prefix=prefix, secret_hash=_hash(raw), expires_at=expires_at
    )
    return NewToken(token, raw)


def token_find(raw: str) -> ApiToken | None:
    """The usable token that `raw` is, or None (unknown, wrong secret, revoked, expired)."""
    parts = raw.split("_", 2)  # the secret itself may hold "_"
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 8 or len(raw) > 100:
        return None
    token = ApiToken.objects.usable().select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(raw)):
        return None
    return token


def token_touch(token: ApiToken, *, address: str | None) -> None:
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < TOUCH_EVERY and token.last_used_from == address:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_from=address)
    token.last_used_at, token.last_used_from = now, address
