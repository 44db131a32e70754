"""Stored dashboard figures: served while fresh, per user and language, recomputed by beat."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from analytics import snapshots
from analytics.figures import Figure
from analytics.models import Snapshot
from analytics.tasks import snapshots_refresh
from contacts.tests.factories import PersonFactory

URL = reverse("analytics:data_quality")


@pytest.fixture(autouse=True)
def stored_figures(settings):
    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 900
    settings.ANALYTICS_SNAPSHOT_STALE_MAX_AGE = 24 * 3600
    settings.ANALYTICS_SNAPSHOT_REFRESH = 300
    settings.ANALYTICS_SNAPSHOT_ACTIVE = 3600


def people_count(response) -> int:
    return next(f for f in response.context["figures"] if f.key == "people_without_email").total


def test_values_survive_the_round_trip():
    value = {
        "figure": Figure("k", "Label", Decimal("12.48"), 40, "/x/", "why"),
        "when": date(2026, 3, 29), "at": timezone.make_aware(datetime(2026, 3, 29, 3, 30)),
        "stay": timedelta(days=2, hours=3), "rows": [(1, "a"), {"n": None, 5: 1.5}],
    }
    back = snapshots.decode(snapshots.encode(value))
    assert back["figure"] == value["figure"] and back["figure"].share == Decimal("31.2")
    assert back["when"] == value["when"] and back["at"] == value["at"] and back["stay"] == value["stay"]
    assert back["rows"] == [[1, "a"], {"n": None, 5: 1.5}]


def test_only_registered_classes_are_stored_and_read():
    @dataclass
    class Unknown:
        x: int

    with pytest.raises(TypeError):
        snapshots.encode(Unknown(1))
    with pytest.raises(TypeError):
        snapshots.encode(object())
    with pytest.raises(KeyError):
        snapshots.decode({"$obj": "os.system", "fields": {}})


def test_page_serves_the_snapshot_until_recomputed(alice, client):
    PersonFactory.create_batch(3, owner=alice)
    client.force_login(alice)
    first = client.get(URL)
    assert first.context["computed_live"] is True and people_count(first) == 3
    PersonFactory.create_batch(2, owner=alice)
    second = client.get(URL)
    assert second.context["computed_live"] is False and people_count(second) == 3
    html = second.content.decode()
    assert 'data-testid="refresh"' in html and "recomputed every 5 minutes" in html
    fresh = client.get(URL, {"refresh": "1"})
    assert fresh.context["computed_live"] is True and people_count(fresh) == 5
    assert Snapshot.objects.count() == 1


def test_snapshot_is_per_user_filter_and_language(alice, bob, client):
    PersonFactory.create_batch(2, owner=alice)
    PersonFactory.create_batch(4, owner=bob)
    client.force_login(alice)
    everything = people_count(client.get(URL))
    assert people_count(client.get(URL, {"owner": bob.pk})) == 4
    client.force_login(bob)
    assert people_count(client.get(URL)) == everything
    with translation.override("de"):
        client.get(URL, HTTP_ACCEPT_LANGUAGE="de")
    keys = set(Snapshot.objects.values_list("user__username", "params", "language"))
    assert ("alice", "", "en") in keys and ("alice", f"owner={bob.pk}", "en") in keys and ("bob", "", "en") in keys
    assert len(keys) == 4 and {k[2] for k in keys} == {"en", "de"}


def test_beat_recomputes_snapshots_in_use_and_drops_unused_ones(alice, bob, client, django_assert_max_num_queries):
    PersonFactory.create_batch(2, owner=alice)
    client.force_login(alice)
    client.get(URL)
    client.force_login(bob)
    client.get(URL)
    now = timezone.now()
    Snapshot.objects.filter(user=alice).update(computed_at=now - timedelta(minutes=6), viewed_at=now - timedelta(minutes=1))
    Snapshot.objects.filter(user=bob).update(computed_at=now - timedelta(days=8), viewed_at=now - timedelta(days=8))
    PersonFactory.create_batch(3, owner=alice)

    assert snapshots_refresh() == 1
    assert not Snapshot.objects.filter(user=bob).exists()
    stored = Snapshot.objects.get(user=alice)
    assert stored.computed_at > now - timedelta(seconds=5)
    client.force_login(alice)
    response = client.get(URL)
    assert response.context["computed_live"] is False and people_count(response) == 5
    assert snapshots_refresh() == 0  # fresh now: nothing to do, twice is as good as once


def test_an_older_snapshot_is_shown_at_once_and_recomputed_by_a_task(
    alice, client, settings, django_capture_on_commit_callbacks
):
    settings.ANALYTICS_SNAPSHOT_STALE_MAX_AGE = 24 * 3600
    PersonFactory.create_batch(2, owner=alice)
    client.force_login(alice)
    client.get(URL)
    PersonFactory.create_batch(3, owner=alice)
    Snapshot.objects.update(computed_at=timezone.now() - timedelta(hours=3))

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.get(URL)
    assert response.context["computed_live"] is False and response.context["recomputing"] is True
    assert people_count(response) == 2 and 'data-testid="recomputing"' in response.content.decode()
    assert len(queued) == 1  # the task ran (eager): the snapshot is fresh again

    again = client.get(URL)
    assert again.context["recomputing"] is False and people_count(again) == 5


def test_a_snapshot_older_than_a_day_is_not_shown(alice, client):
    PersonFactory.create_batch(2, owner=alice)
    client.force_login(alice)
    client.get(URL)
    PersonFactory.create_batch(1, owner=alice)
    Snapshot.objects.update(computed_at=timezone.now() - timedelta(days=2))
    response = client.get(URL)
    assert response.context["computed_live"] is True and people_count(response) == 3
