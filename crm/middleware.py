from csp.constants import SELF
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponseNotAllowed
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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with every HTML response naming its nonce (django-csp adds it only
    when a template used it, and a script-src without it would be empty) and one exception:
    Django's admin renders its own templates, whose script tags carry no nonce, so its pages may
    also load our own static script files."""

    def process_response(self, request, response):
        if response.get("Content-Type", "").startswith("text/html") and hasattr(request, "csp_nonce"):
            str(request.csp_nonce)  # creates the nonce if no template asked for it
        return super().process_response(request, response)

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(reverse("admin:index")):
            parts.update = {**(parts.update or {}), "script-src": [SELF]}
        return parts


class ProbeMiddleware:
    """/healthz, /readyz and /metrics (crm.health, crm.metrics) answer here, before the middleware
    below: no HTTPS redirect (load balancers ask over plain HTTP), no ALLOWED_HOSTS check (they ask
    by the machine's address; nothing here reads the Host header), no session is read or created,
    no login, two-factor or rate limit applies. Exact paths only, GET and HEAD only."""

    def __init__(self, get_response):
        from crm import health, metrics

        self.get_response = get_response
        self.probes = {"/healthz": health.healthz, "/readyz": health.readyz, "/metrics": metrics.metrics_view}

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        request.metrics_view = request.path_info.strip("/")
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return probe(request)
