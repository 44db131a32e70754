"""Rate limits of the pages anyone may use without logging in: one counter per scope and key in
the shared cache (Redis in production, see CACHES), so every gunicorn worker counts together.

    @rate_limit("service-portal-link", limit="SERVICE_PORTAL_LINK_RATE_LIMIT", frame="service/portal/base.html")
    def portal_login(request): ...

A window starts with a key's first request and lasts CRM_RATE_LIMIT_WINDOW seconds; within it the
first `limit` requests pass and the rest get a friendly 429 page in the frame of the page asked for
(never a 500). Counting is `cache.add` + `cache.incr`, both atomic in Redis, so concurrent
requests on several workers never pass more than `limit`. A cache that is down lets requests
through (logged): a broken limit must not take the public pages with it.

Keys are the client address (crm.clientip; an IPv6 client by its /64, which one subscriber
usually has whole) and, where given, more (a form, a token); they are stored as HMACs, so the cache
holds no addresses.
"""

import functools
import ipaddress
import logging

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.utils.crypto import salted_hmac

from crm.clientip import client_ip

logger = logging.getLogger(__name__)


def client_key(request) -> str:
    """The client's address for counting: IPv4 as it is, IPv6 by its /64 network."""
    address = client_ip(request)
    if address is None:
        return "unknown"
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return address


def hit(scope: str, key: str, *, limit: int, window: int | None = None) -> bool:
    """Counts one request of `key` in `scope`: True when it is over `limit` requests in the window
    (0 means no limit)."""
    if limit <= 0:
        return False
    window = window or settings.CRM_RATE_LIMIT_WINDOW
    cache_key = f"ratelimit:{scope}:{salted_hmac('crm.ratelimit', key).hexdigest()[:32]}"
    try:
        cache.add(cache_key, 0, window)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, window)
            count = 1
        if count == 1:
            # Django's Redis incr checks that the key exists, then increments: a key expiring in
            # between comes back without an expiry. The first count (re)sets it.
            cache.touch(cache_key, window)
    except Exception:  # noqa: BLE001 - any cache error: let the request through, say so
        logger.warning("rate limit %s: the cache is not available, not counting", scope, exc_info=True)
        return False
    return count > limit


def client_hit(request, scope: str, *, limit: int, extra: str = "") -> bool:
    """`hit` for the client that sent `request` (and `extra`, e.g. the form or the link)."""
    return hit(scope, f"{client_key(request)}|{extra}", limit=limit)


def too_many_requests(request, *, frame: str = "base.html", context: dict | None = None):
    """The friendly 429 page inside `frame`, the layout of the page that was asked for."""
    window = settings.CRM_RATE_LIMIT_WINDOW
    response = render(request, "429.html", {
        "frame": frame, "retry_minutes": max(1, round(window / 60)), **(context or {}),
    }, status=429)
    response["Retry-After"] = str(window)
    return response


def rate_limit(scope: str, *, limit: str, frame: str, methods=("POST",), key=None, context=None):
    """Decorates a view: requests with one of `methods` (None: all) count against the setting named
    `limit`, per client and, with `key(request, *args, **kwargs)`, per what it returns. `context(request)`
    gives what `frame` needs besides the request (its language, say)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if methods is None or request.method in methods:
                extra = key(request, *args, **kwargs) if key else ""
                if client_hit(request, scope, limit=getattr(settings, limit), extra=extra):
                    return too_many_requests(request, frame=frame, context=context(request) if context else None)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
