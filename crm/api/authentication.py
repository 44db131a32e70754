"""Who an API request is: a personal API token (`Authorization: Bearer crm_…`) or the browser's
session (with Django's CSRF check on writes, as on the pages)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from crm.api import tokens
from crm.clientip import client_ip


def client_address(request) -> str | None:
    """The client's address; behind trusted proxies the one crm.clientip derives."""
    return client_ip(request)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header must read “Bearer <token>”."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This API token is invalid, expired or revoked.")) from None
        token = tokens.token_find(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This API token is invalid, expired or revoked."))
        tokens.token_touch(token, address=client_address(request))
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session, as on the pages; writes need the CSRF token (X-CSRFToken header)."""


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.authentication.BearerTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from your profile (API tokens page): `Authorization: Bearer crm_…`.",
        }


class CrmSessionScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The browser's session; writes need the X-CSRFToken header."}
