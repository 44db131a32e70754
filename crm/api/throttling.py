"""Requests per user, or per token when a token is used, counted in the shared cache (CACHES)."""

from rest_framework.throttling import SimpleRateThrottle

from crm.models import ApiToken


class UserOrTokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
