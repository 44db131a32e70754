from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from crm.roles import Role, has_role

# What an admin without two-factor login may still reach: setting it up, leaving, help and language.
_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/help/")
_ALLOWED_NAMES = ("two_factor", "logout", "login", "password_change", "password_change_done")


class AdminTwoFactorMiddleware:
    """With CRM_REQUIRE_2FA_FOR_ADMINS, an admin whose session was not verified by a second factor
    is sent to the two-factor page until they set it up (and log in again with it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.CRM_REQUIRE_2FA_FOR_ADMINS
            and user is not None
            and user.is_authenticated
            and has_role(user, Role.ADMIN)
            and not user.is_verified()
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and request.path not in {reverse(name) for name in _ALLOWED_NAMES}
        ):
            return redirect("two_factor")
        return self.get_response(request)
