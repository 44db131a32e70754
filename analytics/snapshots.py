"""Dashboard snapshots: the computed figures of a dashboard for one user and one filter, stored in
a table and refreshed by Celery beat, so that a manager opening a dashboard on a large data set
reads stored numbers instead of waiting for the aggregate queries.

- An older snapshot (up to ANALYTICS_SNAPSHOT_STALE_MAX_AGE) is shown at once while a task
  recomputes it; only a filter nobody used for a day makes the user wait for the queries.
- Each dashboard registers how it computes its figures from a user and the filter parameters
  (`register(name, compute)`); the view asks `figures(name, user, params)`.
- A snapshot belongs to one user (figures respect what that user may see), one language (labels
  are translated when computed) and one normalised filter. It is served while it is younger than
  ANALYTICS_SNAPSHOT_MAX_AGE; an older one, or none, is computed on the spot and stored.
- `refresh_active()` (beat, every ANALYTICS_SNAPSHOT_REFRESH seconds) recomputes the snapshots
  viewed within ANALYTICS_SNAPSHOT_ACTIVE that are older than the refresh interval, and deletes
  those nobody looked at for a week. The page says how old its figures are.
- Stored as JSON with tags for Decimal, dates, durations and registered dataclasses: no pickle,
  nothing in the table can run code when read.
"""

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.functional import Promise

logger = logging.getLogger(__name__)

_computers: dict[str, Callable[[Any, QueryDict], Any]] = {}
_classes: dict[str, type] = {}


def register(name: str, compute: Callable[[Any, QueryDict], Any]) -> None:
    """`compute(user, params)` returns the dashboard's figures (JSON-able with `serializable` classes)."""
    _computers[name] = compute


def serializable(cls: type) -> type:
    """Class decorator: a dataclass that snapshots may store and read back."""
    _classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


# --- Encoding ------------------------------------------------------------------------------------


def encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if any(not isinstance(key, (str, int)) for key in value):
            raise TypeError(f"snapshot dict keys must be str or int: {list(value)[:3]}")
        return {"$map": [[key, encode(item)] for key, item in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if name not in _classes:
            raise TypeError(f"{name} is not registered with analytics.snapshots.serializable")
        return {"$obj": name, "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    raise TypeError(f"a dashboard snapshot cannot store {type(value).__name__}")


def decode(value):
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$d" in value:
        return Decimal(value["$d"])
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$td" in value:
        return timedelta(seconds=value["$td"])
    if "$map" in value:
        return {key: decode(item) for key, item in value["$map"]}
    if "$obj" in value:
        cls = _classes[value["$obj"]]  # only registered classes: a KeyError for anything else
        return cls(**{key: decode(item) for key, item in value["fields"].items()})
    raise ValueError(f"not a snapshot value: {sorted(value)[:3]}")


# --- Reading and refreshing ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Figures:
    data: Any
    computed_at: datetime
    live: bool  # computed for this request (no fresh snapshot)
    refreshing: bool = False  # an older snapshot, served while a task recomputes it

    @property
    def age(self) -> timedelta:
        return timezone.now() - self.computed_at


def normalised(params: QueryDict | dict, fields) -> str:
    """The filter as a stable query string: only the dashboard's own fields, sorted, without blanks."""
    query = QueryDict(mutable=True)
    for name in sorted(fields):
        values = [v for v in (params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]) if v]
        if values:
            query.setlist(name, sorted(str(v) for v in values))
    return query.urlencode()


def _compute(name: str, user, params: str):
    started = time.perf_counter()
    data = _computers[name](user, QueryDict(params))
    return encode(data), round(1000 * (time.perf_counter() - started))


def _store(name: str, user, params: str, language: str, payload, compute_ms: int, now: datetime) -> None:
    from analytics.models import Snapshot

    try:
        with transaction.atomic():
            Snapshot.objects.update_or_create(
                name=name, user=user, params=params, language=language,
                defaults={"payload": payload, "computed_at": now, "viewed_at": now, "compute_ms": compute_ms},
            )
    except IntegrityError:  # another request stored the same snapshot a moment ago: theirs is as good
        logger.debug("snapshot %s for user %s stored concurrently", name, user.pk)


def figures(name: str, user, params: str, *, fresh: bool = False) -> Figures:
    """The dashboard's figures for the user and the normalised filter `params`.

    A snapshot younger than ANALYTICS_SNAPSHOT_MAX_AGE is served as it is. An older one (up to
    ANALYTICS_SNAPSHOT_STALE_MAX_AGE) is served at once too, marked as being recomputed, while a
    Celery task recomputes it: nobody waits seconds for a dashboard they saw yesterday. Without
    a snapshot, or with `fresh`, the figures are computed now."""
    from analytics.models import Snapshot
    from analytics.tasks import snapshot_refresh

    language = translation.get_language() or settings.LANGUAGE_CODE
    now = timezone.now()
    if not fresh:
        row = (
            Snapshot.objects.filter(
                name=name, user=user, params=params, language=language,
                computed_at__gte=now - timedelta(seconds=settings.ANALYTICS_SNAPSHOT_STALE_MAX_AGE),
            )
            .values_list("pk", "payload", "computed_at")
            .first()
        )
        if row is not None:
            pk, payload, computed_at = row
            Snapshot.objects.filter(pk=pk).update(viewed_at=now)
            stale = computed_at < now - timedelta(seconds=settings.ANALYTICS_SNAPSHOT_MAX_AGE)
            if stale:
                transaction.on_commit(lambda: snapshot_refresh.delay(pk))
            return Figures(decode(payload), computed_at, live=False, refreshing=stale)
    payload, compute_ms = _compute(name, user, params)
    _store(name, user, params, language, payload, compute_ms, now)
    return Figures(decode(payload), now, live=True)


def refresh_one(pk: int) -> bool:
    """Recompute one snapshot unless it became fresh meanwhile (a second task for it does nothing)."""
    from analytics.models import Snapshot

    max_age = timedelta(seconds=settings.ANALYTICS_SNAPSHOT_MAX_AGE)
    snapshot = (
        Snapshot.objects.filter(pk=pk, computed_at__lt=timezone.now() - max_age, name__in=list(_computers))
        .select_related("user").first()
    )
    if snapshot is None or not snapshot.user.is_active:
        return False
    _recompute(snapshot)
    return True


def _recompute(snapshot) -> None:
    with translation.override(snapshot.language):
        payload, compute_ms = _compute(snapshot.name, snapshot.user, snapshot.params)
    type(snapshot).objects.filter(pk=snapshot.pk).update(payload=payload, computed_at=timezone.now(), compute_ms=compute_ms)


def refresh_active(*, limit_seconds: float | None = None) -> int:
    """Recompute the snapshots in use that are older than the refresh interval; delete unused ones.

    Idempotent and safe to overlap: each snapshot is overwritten in place.
    Returns the number of snapshots recomputed."""
    from analytics.models import Snapshot

    now = timezone.now()
    Snapshot.objects.filter(viewed_at__lt=now - timedelta(days=7)).delete()
    due = (
        Snapshot.objects.filter(
            viewed_at__gte=now - timedelta(seconds=settings.ANALYTICS_SNAPSHOT_ACTIVE),
            computed_at__lt=now - timedelta(seconds=settings.ANALYTICS_SNAPSHOT_REFRESH),
            name__in=list(_computers),
        )
        .select_related("user")
        .order_by("computed_at")
    )
    deadline = time.monotonic() + (limit_seconds or settings.ANALYTICS_SNAPSHOT_REFRESH)
    done = 0
    for snapshot in due:
        if time.monotonic() > deadline:
            break  # the next run goes on with the oldest
        if not snapshot.user.is_active:
            snapshot.delete()
            continue
        _recompute(snapshot)
        done += 1
    return done
