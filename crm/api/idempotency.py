"""`Idempotency-Key` on POST: a retried request (same user, key and body) gets the first answer
again and changes nothing; the same key with another body is refused (422).

The key row is written in the transaction of the change: inserting it first makes a second,
concurrent request with the same key wait for the first (the unique constraint) and then find
its answer. A request that fails (4xx) rolls its key back with everything else, so the client
may correct it and send it again under the same key. Keys are forgotten after
CRM_API_IDEMPOTENCY_HOURS (`idempotency_keys_purge`, hourly).
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.response import Response

from crm.api.exceptions import Unprocessable
from crm.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag")


def _fingerprint(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _cutoff():
    return timezone.now() - timedelta(hours=settings.CRM_API_IDEMPOTENCY_HOURS)


def _replay(request, key: str, fingerprint: str):
    stored = IdempotencyKey.objects.filter(user=request.user, key=key, created_at__gte=_cutoff()).first()
    if stored is None:
        return None
    if stored.fingerprint != fingerprint:
        raise Unprocessable(
            _("This Idempotency-Key was used for another request. Use a new key for a new request."),
        )
    response = Response(stored.response_body, status=stored.status_code, headers=stored.response_headers)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(handler):
    """Decorates a viewset's POST handler (`create`, a batch action)."""

    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > 255 or not key.isprintable():
            raise exceptions.ValidationError({HEADER: [_("Give a key of 1 to 255 printable characters.")]})
        fingerprint = _fingerprint(request)
        replay = _replay(request, key, fingerprint)
        if replay is not None:
            return replay
        # An expired row with the same key would block the insert.
        IdempotencyKey.objects.filter(user=request.user, key=key, created_at__lt=_cutoff()).delete()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(user=request.user, key=key, fingerprint=fingerprint)
            except IntegrityError:
                record = None
            if record is not None:
                response = handler(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    record.status_code = response.status_code
                    record.response_body = json.loads(json.dumps(response.data, default=str))
                    record.response_headers = {h: response[h] for h in KEPT_HEADERS if h in response}
                    record.save(update_fields=["status_code", "response_body", "response_headers"])
                else:
                    transaction.set_rollback(True)
                return response
        # Another request with this key committed meanwhile.
        replay = _replay(request, key, fingerprint)
        if replay is None:
            raise exceptions.ValidationError({HEADER: [_("Send the request again.")]})
        return replay

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


def idempotency_keys_purge() -> int:
    return IdempotencyKey.objects.filter(created_at__lt=_cutoff()).delete()[0]
