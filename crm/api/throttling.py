"""Requests per user, or per token when a token is used, counted in the shared cache (CACHES);
and the read budget of users who may not export."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

from crm import ratelimit
from crm.models import ApiToken
from crm.roles import EXPORT_ROLES, has_role

READ_BUDGET_SCOPE = "api-records-read"


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


class ReadBudget:
    """Records a user without the export permission may read through the API per window
    (CRM_API_READ_LIMIT_WITHOUT_EXPORT per CRM_API_READ_WINDOW seconds): list rows and single
    records alike, counted per user (not per token, so more tokens give no more) in the shared
    cache. Within it such a user works as on the pages; beyond it lists and details answer 429
    with Retry-After, so the API is no way round the export permission. A list page is cut to
    what is left of the budget, so it is never overdrawn."""

    def __init__(self, user):
        self.key = f"user-{user.pk}"
        self.limit = settings.CRM_API_READ_LIMIT_WITHOUT_EXPORT

    @classmethod
    def of(cls, request) -> "ReadBudget | None":
        user = request.user
        if not user.is_authenticated or settings.CRM_API_READ_LIMIT_WITHOUT_EXPORT <= 0 or has_role(user, *EXPORT_ROLES):
            return None
        return cls(user)

    def left(self) -> int:
        left = self.limit - ratelimit.used(READ_BUDGET_SCOPE, self.key)
        if left <= 0:
            raise exceptions.Throttled(
                wait=settings.CRM_API_READ_WINDOW,
                detail=_("You have read %(limit)s records through the API within the hour; without the export "
                         "permission that is the limit. Ask an administrator for an export, or try again later.")
                % {"limit": self.limit},
            )
        return left

    def spend(self, records: int) -> None:
        if records:
            ratelimit.add(READ_BUDGET_SCOPE, self.key, records, window=settings.CRM_API_READ_WINDOW)
