"""Delivering webhooks: the SSRF guard, the signed HTTP request and the retry schedule.

One worker at a time delivers to an endpoint (a lease on the endpoint row); it sends the due
deliveries in id order, the oldest pending one of each record first, so a receiver never gets
event n+1 of a record before event n succeeded. At least once: a worker killed after the
receiver answered but before the row was marked delivered sends it again, with the same
`webhook-id`, so the receiver can drop the duplicate.

Failures back off per endpoint (exponential with jitter, capped at 8 hours): a receiver that
is down gets one probe per step instead of one request per queued event; with the default of
20 failures in a row that is about three days before the endpoint is disabled. A 410 Gone
disables it at once. Each delivery is given up CRM_WEBHOOK_RETRY_FOR_SECONDS after its event.
"""

import http.client
import ipaddress
import json
import logging
import random
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from crm.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)
State = WebhookDelivery.State
EXCERPT_BYTES = 1024
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 8 * 3600
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


# --- SSRF guard ------------------------------------------------------------------------------


class RefusedDestination(ValidationError):
    pass


def _loopback_allowed() -> bool:
    return bool(getattr(settings, "CRM_WEBHOOK_ALLOW_LOOPBACK", False))


def check_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address, or RefusedDestination when a webhook must not go there."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        raise RefusedDestination(_("%(ip)s is a cloud metadata address.") % {"ip": ip})
    if ip.is_loopback:
        if _loopback_allowed() and ip == ipaddress.ip_address("127.0.0.1"):
            return ip
        raise RefusedDestination(_("%(ip)s is a loopback address.") % {"ip": ip})
    for test, reason in (
        (ip.is_link_local, _("%(ip)s is a link-local address.")),
        (ip.is_multicast, _("%(ip)s is a multicast address.")),
        (ip.is_unspecified, _("%(ip)s is not a destination address.")),
        (ip.is_reserved, _("%(ip)s is a reserved address.")),
        (ip.is_private, _("%(ip)s is a private address.")),
        (not ip.is_global, _("%(ip)s is not a public address.")),
    ):
        if test:
            raise RefusedDestination(reason % {"ip": ip})
    return ip


def check_url(url: str) -> tuple[str, int, list[str]]:
    """(host, port, checked addresses) of a webhook URL, or RefusedDestination: HTTPS only
    (http only to 127.0.0.1 where the setting allows it), and every address the host resolves
    to must be public; a host with one public and one private address is refused."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise RefusedDestination(_("Enter a complete URL."))
    if parts.username or parts.password:
        raise RefusedDestination(_("A webhook URL must not carry a user name or password."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedDestination(_("The port is not valid.")) from None
    if parts.scheme != "https":
        plain_ok = parts.scheme == "http" and _loopback_allowed() and host == "127.0.0.1"
        if not plain_ok:
            raise RefusedDestination(_("Webhooks are sent over HTTPS only: the URL must start with https://."))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RefusedDestination(_("The host %(host)s cannot be found.") % {"host": host}) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise RefusedDestination(_("The host %(host)s cannot be found.") % {"host": host})
    for address in addresses:
        check_address(address)
    return host, port, addresses


# --- the request -----------------------------------------------------------------------------


@dataclass
class Response:
    status: int | None
    excerpt: str
    error: str
    duration_ms: int


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address; Host header and SNI stay the URL's host name."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), timeout=settings.CRM_WEBHOOK_CONNECT_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(settings.CRM_WEBHOOK_READ_TIMEOUT)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), timeout=settings.CRM_WEBHOOK_CONNECT_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(settings.CRM_WEBHOOK_READ_TIMEOUT)


class Client:
    """Sends to one endpoint, keeping the connection open between requests. Checks the
    destination again at connect time (DNS may answer differently than when subscribing)."""

    def __init__(self, url: str):
        self.url = url
        self.parts = urlsplit(url)
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connection(self):
        if self.conn is None:
            host, port, addresses = check_url(self.url)
            cls = _PinnedHTTPSConnection if self.parts.scheme == "https" else _PinnedHTTPConnection
            kwargs = {"context": ssl.create_default_context()} if cls is _PinnedHTTPSConnection else {}
            self.conn = cls(host, port, addresses[0], timeout=settings.CRM_WEBHOOK_READ_TIMEOUT, **kwargs)
        return self.conn

    def post(self, body: bytes, headers: dict[str, str]) -> Response:
        started = time.monotonic()
        path = self.parts.path or "/"
        if self.parts.query:
            path += "?" + self.parts.query
        for retry in (False, True):
            try:
                conn = self._connection()
                conn.request("POST", path, body=body, headers=headers)
                reply = conn.getresponse()
                data = self._read_capped(reply)
                if reply.will_close:
                    self.close()
                return Response(reply.status, data[:EXCERPT_BYTES].decode("utf-8", "replace"), "", _ms(started))
            except RefusedDestination as error:
                self.close()
                return Response(None, "", _("Refused: %(reason)s") % {"reason": " ".join(error.messages)}, _ms(started))
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                # A kept-alive connection the receiver closed: one fresh try, then a failure.
                self.close()
                if retry:
                    return Response(None, "", _describe(error), _ms(started))
            except (OSError, http.client.HTTPException) as error:
                self.close()
                return Response(None, "", _describe(error), _ms(started))
        return Response(None, "", "", _ms(started))  # not reached

    def _read_capped(self, reply) -> bytes:
        """The body up to the cap; a larger one is cut and the connection dropped."""
        limit = settings.CRM_WEBHOOK_RESPONSE_MAX_BYTES
        chunks, size = [], 0
        while size <= limit:
            chunk = reply.read(min(16384, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        self.close()
        return b"".join(chunks)[:limit]


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(error: Exception) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return _("Timed out")
    if isinstance(error, ConnectionRefusedError):
        return _("Connection refused")
    return f"{type(error).__name__}: {error}"[:300]


def sign_headers(endpoint: WebhookEndpoint, msg_id: str, body: str, now: datetime) -> dict[str, str]:
    moment = now.astimezone(UTC)
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in endpoint.secrets(now))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "CRM-Webhooks/1",
    }


def encode(payload) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


# --- the schedule ----------------------------------------------------------------------------


def backoff_seconds(failures: int) -> float:
    """Exponential (5 s, 10 s, 20 s … capped at 8 h) with ±25 % jitter."""
    base = min(BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0), BACKOFF_CAP_SECONDS)
    return base * random.uniform(0.75, 1.25)


def due_deliveries(endpoint: WebhookEndpoint, *, limit: int = 100) -> list[WebhookDelivery]:
    """Pending deliveries that are the oldest pending one of their record, oldest first (at most
    `limit`). Taken from the oldest pending rows by id, so an earlier pending row of the same
    record is always among them: two plain index scans, whatever the planner knows of the table
    (a NOT EXISTS per row took 40 s for 10,000 rows written in one transaction, before ANALYZE)."""
    window = WebhookDelivery.objects.filter(endpoint=endpoint, state=State.PENDING).order_by("pk")
    first_of_record: dict[str, int] = {}
    for pk, record_key in window.values_list("pk", "record_key")[: limit * 4]:
        first_of_record.setdefault(record_key, pk)
    due = sorted(first_of_record.values())[:limit]
    return list(WebhookDelivery.objects.filter(pk__in=due).select_related("event").order_by("pk"))


def _acquire(endpoint_id: int, now: datetime) -> str | None:
    token = uuid.uuid4().hex
    got = WebhookEndpoint.objects.filter(pk=endpoint_id).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(lease_until=now + timedelta(seconds=settings.CRM_WEBHOOK_LEASE_SECONDS), lease_owner=token)
    return token if got else None


def _renew(endpoint_id: int, token: str) -> bool:
    until = timezone.now() + timedelta(seconds=settings.CRM_WEBHOOK_LEASE_SECONDS)
    return bool(WebhookEndpoint.objects.filter(pk=endpoint_id, lease_owner=token).update(lease_until=until))


def _release(endpoint_id: int, token: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, lease_owner=token).update(lease_until=None, lease_owner="")


@dataclass
class Run:
    delivered: int = 0
    failed: int = 0
    busy: bool = False  # another worker holds the endpoint
    more: bool = False  # stopped at the batch limit with more due


def deliver_endpoint(endpoint_id: int, *, limit: int = 1000) -> Run:
    """Send what is due to one endpoint, in order, until it fails or nothing is due."""
    run = Run()
    now = timezone.now()
    token = _acquire(endpoint_id, now)
    if token is None:
        run.busy = True
        return run
    client = None
    try:
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        if not endpoint.is_active or (endpoint.retry_at and endpoint.retry_at > now):
            return run
        _give_up_expired(endpoint, now)
        client = Client(endpoint.url)
        outcomes = Outcomes(endpoint)
        sent, renewed = 0, time.monotonic()
        try:
            while sent < limit:
                batch = due_deliveries(endpoint, limit=min(100, limit - sent))
                if not batch:
                    return run
                keys_seen = set()
                for delivery in batch:
                    if delivery.record_key in keys_seen:
                        continue  # the query ran before its predecessor was sent: next batch
                    keys_seen.add(delivery.record_key)
                    ok = _attempt(endpoint, delivery, client, outcomes)
                    sent += 1
                    if not ok:
                        run.failed += 1
                        return run
                    run.delivered += 1
                    # Renew the lease well before it runs out (slow receivers), and write
                    # outcomes every 50: a worker that lost its lease stops at once.
                    if sent % 50 == 0 or time.monotonic() - renewed > settings.CRM_WEBHOOK_LEASE_SECONDS / 3:
                        outcomes.flush()
                        renewed = time.monotonic()
                        if not _renew(endpoint_id, token):
                            return run
                outcomes.flush()  # the next query must see these as delivered
            run.more = True
            return run
        finally:
            outcomes.flush()
    finally:
        if client is not None:
            client.close()
        _release(endpoint_id, token)


class Outcomes:
    """Successful attempts, written in one transaction per batch rather than one per request
    (a commit per request would cap throughput at the database's fsync rate). A worker killed
    before the flush sends those again, with the same webhook-id: at least once."""

    def __init__(self, endpoint: WebhookEndpoint):
        self.endpoint = endpoint
        self.attempts: list[WebhookAttempt] = []

    def success(self, attempt: WebhookAttempt) -> None:
        self.attempts.append(attempt)

    def flush(self) -> None:
        if not self.attempts:
            return
        attempts, self.attempts = self.attempts, []
        with transaction.atomic():
            WebhookAttempt.objects.bulk_create(attempts)
            WebhookDelivery.objects.filter(pk__in=[a.delivery_id for a in attempts]).update(
                state=State.DELIVERED, delivered_at=timezone.now(), attempts=F("attempts") + 1, last_status=200
            )
            for attempt in attempts:
                if attempt.status_code != 200:  # 201, 202, 204: rare, one row each
                    WebhookDelivery.objects.filter(pk=attempt.delivery_id).update(last_status=attempt.status_code)
            if self.endpoint.consecutive_failures or self.endpoint.retry_at:
                WebhookEndpoint.objects.filter(pk=self.endpoint.pk).update(consecutive_failures=0, retry_at=None)
                self.endpoint.consecutive_failures, self.endpoint.retry_at = 0, None


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery, client: Client, outcomes: Outcomes) -> bool:
    now = timezone.now()
    body = encode(delivery.event.payload)
    response = client.post(body.encode(), sign_headers(endpoint, delivery.event.msg_id, body, now))
    ok = response.status is not None and 200 <= response.status < 300
    attempt = WebhookAttempt(
        delivery=delivery, started_at=now, status_code=response.status, duration_ms=response.duration_ms,
        response_excerpt=response.excerpt, error=response.error,
    )
    if ok:
        outcomes.success(attempt)
        return True
    outcomes.flush()
    with transaction.atomic():
        attempt.save()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, last_status=response.status)
        _failed(endpoint, response, now)
    return False


def _failed(endpoint: WebhookEndpoint, response: Response, now: datetime) -> None:
    failures = endpoint.consecutive_failures + 1
    endpoint.consecutive_failures = failures
    endpoint.retry_at = now + timedelta(seconds=backoff_seconds(failures))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=failures, retry_at=endpoint.retry_at)
    if response.status == 410:
        disable(endpoint, _("The receiver answered 410 Gone: it wants no more events."))
    elif failures >= settings.CRM_WEBHOOK_DISABLE_AFTER_FAILURES:
        disable(endpoint, _("%(count)s failed deliveries in a row; the last: %(last)s") % {
            "count": failures, "last": response.status or response.error})


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to the endpoint (its pending deliveries stay for a resend) and tell the admins."""
    from crm import outbox
    from crm.roles import Role

    endpoint.is_active, endpoint.disabled_reason, endpoint.disabled_at = False, reason[:300], timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason=endpoint.disabled_reason, disabled_at=endpoint.disabled_at
    )
    from crm import webhooks

    webhooks.forget_subscriptions()
    for address in _admin_addresses(Role.ADMIN):
        outbox.email_queue(
            to=address,
            subject=_("Webhook disabled: %(endpoint)s") % {"endpoint": endpoint.url},
            body=_("The CRM stopped sending events to %(url)s.\n\nReason: %(reason)s\n\n"
                   "Pending events are kept; enable the endpoint again in the CRM's webhook settings.") % {
                "url": endpoint.url, "reason": reason},
            regarding=endpoint,
        )


def _admin_addresses(role) -> list[str]:
    from django.contrib.auth import get_user_model

    from crm.roles import has_role

    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return sorted({user.email for user in users if has_role(user, role)})


def _give_up_expired(endpoint: WebhookEndpoint, now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.CRM_WEBHOOK_RETRY_FOR_SECONDS)
    pending = WebhookDelivery.objects.filter(endpoint=endpoint, state=State.PENDING)
    # Almost always nothing has expired: the oldest pending event (events are numbered as they
    # occur) says so with one row, where the UPDATE's join can take minutes on thousands of rows
    # written before Postgres has statistics for them.
    oldest = pending.order_by("event_id").values_list("event__occurred_at", flat=True).first()
    if oldest is None or oldest >= cutoff:
        return 0
    return pending.filter(event__occurred_at__lt=cutoff).update(state=State.FAILED)


def webhooks_resume(*, now: datetime | None = None) -> list[int]:
    """The endpoints that have due deliveries and no live worker (for the beat job)."""
    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(endpoint_id=OuterRef("pk"), state=State.PENDING)
    return list(
        WebhookEndpoint.objects.filter(is_active=True)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Exists(pending))
        .values_list("pk", flat=True)
    )


def webhooks_purge(*, now: datetime | None = None) -> int:
    """Delete the events older than CRM_WEBHOOK_KEEP_DAYS with no pending delivery, and with them
    their deliveries and attempts: the payloads hold personal data, kept only while needed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CRM_WEBHOOK_KEEP_DAYS)
    pending = WebhookDelivery.objects.filter(event_id=OuterRef("pk"), state=State.PENDING)
    old = WebhookEvent.objects.filter(occurred_at__lt=cutoff).exclude(Exists(pending))
    return old.delete()[1].get(WebhookEvent._meta.label, 0)


# --- admin actions ---------------------------------------------------------------------------


def resend(delivery: WebhookDelivery) -> None:
    """Queue a delivery again (same event, same webhook-id)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=State.PENDING)
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(retry_at=None)
    _enqueue_on_commit(delivery.endpoint_id)


def ping(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A test event to this endpoint only, sent now (through the same outbox)."""
    from crm import webhooks

    event = webhooks.emit(
        webhooks.PING, payload={"message": "ping", "endpoint": endpoint.pk}, kind="", object_id=None,
        endpoints=[endpoint.pk],
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(retry_at=None)
    return event.deliveries.get()


def _enqueue_on_commit(endpoint_id: int) -> None:
    from crm import webhooks

    transaction.on_commit(lambda: webhooks._enqueue([endpoint_id]))


__all__ = ["WebhookEvent", "check_url", "deliver_endpoint"]
