"""Helpers for API tests: requests through Django's test client, with a token or a session."""

import json

from crm.api import tokens


def call(client, method: str, url: str, body=None, *, token: str | None = None, raw: bytes | None = None,
         content_type: str = "application/json", **headers):
    # Header names as keywords (If_Match="..."); WSGI variables as they are (REMOTE_ADDR="...").
    extra = {name if name.isupper() else f"HTTP_{name.upper()}": value for name, value in headers.items()}
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if method == "get":
        return client.get(url, **extra)
    return getattr(client, method)(url, data=data, content_type=content_type, **extra)


def token_for(user, scope: str = "read_write", **kwargs) -> str:
    return tokens.token_create(user=user, name=f"Token of {user.username}", scope=scope, **kwargs).secret

