"""The visitor's address, the one way the code learns it: rate limits, django-axes
(AXES_CLIENT_IP_CALLABLE) and consent evidence all call `client_ip(request)`.

Behind the TLS proxy the README prescribes, REMOTE_ADDR is the proxy. Each proxy appends the
address it received the request from to X-Forwarded-For, so the header reads
"what the client claims, …, what our proxies saw", and only the entries our own proxies wrote can
be believed. CRM_TRUSTED_PROXIES names those proxies, either by number ("1": one proxy in front)
or by address ("10.0.0.2, 172.16.0.0/12"). The client is then the rightmost hop that is not one of
them. Without CRM_TRUSTED_PROXIES the header is ignored: anyone can send it.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_proxies(value) -> int | tuple[Network, ...]:
    """CRM_TRUSTED_PROXIES parsed: a number of proxies, or the networks they are in (an address is
    a network of one). An empty value means no proxy (0)."""
    if isinstance(value, int):
        if value < 0:
            raise ImproperlyConfigured("CRM_TRUSTED_PROXIES: the number of proxies cannot be negative.")
        return value
    items = [item.strip() for item in (value if isinstance(value, (list, tuple)) else str(value).split(",")) if str(item).strip()]
    if not items:
        return 0
    if len(items) == 1 and items[0].isdigit():
        return int(items[0])
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"CRM_TRUSTED_PROXIES must be a number of proxies or their addresses/networks, comma-separated: {error}"
        ) from error


def parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it ("203.0.113.7", "203.0.113.7:4711", "[2001:db8::1]:4711",
    "2001:db8::1"), or None for anything else ("unknown", garbage)."""
    value = (value or "").strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip(request) -> str | None:
    """The address of the client that sent `request`, as a string, or None if unknown."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None
    configured = getattr(settings, "CRM_TRUSTED_PROXIES", "")
    proxies = trusted_proxies(tuple(configured) if isinstance(configured, list) else configured)
    if not proxies:
        return str(remote)
    forwarded = [part for header in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if (part := header.strip())]
    hops = [*forwarded, str(remote)]  # the nearest hop last
    if isinstance(proxies, int):
        # The last `proxies` hops are our proxies; the one before them is the client. A request
        # with fewer hops came past some of them: its leftmost hop is the farthest one we know.
        candidate = hops[max(0, len(hops) - 1 - proxies)]
        return str(parse_address(candidate) or remote)
    address = remote
    for hop in reversed(forwarded):
        if not any(address in network for network in proxies):
            break  # `address` is not one of our proxies: what it wrote cannot be believed
        parsed = parse_address(hop)
        if parsed is None:
            break  # our proxy forwarded garbage from further out: it is the last address we know
        address = parsed
    return str(address)
