"""Secrets the CRM must read back (a user's mailbox password), encrypted at rest.

`cryptography`'s MultiFernet with the keys of CRM_SECRET_KEYS (comma-separated Fernet keys,
newest first): it encrypts with the first key and decrypts with any of them, so a key rotates
by putting a new one in front and, once `reencrypt` has run over the stored values, dropping
the old one. Without the setting the key is derived from SECRET_KEY, so that `make run` works.

Plain text never goes into logs: callers hold it only as long as a connection needs it.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored value was encrypted with a key that is no longer configured (or is corrupt)."""


def derived_key(secret_key: str) -> str:
    """A Fernet key derived from Django's SECRET_KEY (the development default)."""
    digest = hashlib.sha256(b"crm.secrets:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def configured_keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in getattr(settings, "CRM_SECRET_KEYS", []) if k.strip())
    return keys or (derived_key(settings.SECRET_KEY),)


def encrypt(plain: str) -> str:
    return _fernet(configured_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(configured_keys()).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable("The secret cannot be decrypted with the configured keys.") from error


def reencrypt(token: str) -> str:
    """The same secret encrypted with the newest key (key rotation)."""
    try:
        return _fernet(configured_keys()).rotate(token.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable("The secret cannot be decrypted with the configured keys.") from error
