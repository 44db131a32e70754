"""A chart without figures is not an empty grid: the dashboard says so and offers a longer
period; filter menus name people, not their usernames."""

import re

import pytest
from django.urls import reverse

from analytics.scope import Period
from analytics.views.common import chart
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory


def test_a_chart_is_empty_when_no_series_has_a_figure():
    rows = [{"label": "A", "n": 0, "m": None}, {"label": "B", "n": None, "m": 0}]
    assert chart(rows, "n", "N")["empty"] is True
    assert chart([], "n", "N")["empty"] is True
    assert chart(rows, "n", "N", extra=("m", "M"))["empty"] is True
    rows[1]["m"] = 2
    with_extra = chart(rows, "n", "N", extra=("m", "M"))
    assert with_extra["empty"] is False and with_extra["extra"] == {"values": [None, 2.0], "label": "M"}


def test_every_period_but_the_longest_has_a_longer_one_to_offer():
    keys = [key for key, _label in Period.CHOICES]
    assert set(Period.LONGER) == set(keys) - {Period.LAST_12_MONTHS}
    assert set(Period.LONGER.values()) <= set(keys)


@pytest.mark.django_db
def test_an_empty_period_says_so_and_links_to_a_longer_one(client, manager, alice):
    client.force_login(manager)
    response = client.get(reverse("analytics:appointments"), {"period": Period.THIS_MONTH, "owner": alice.pk},
                          HTTP_ACCEPT_LANGUAGE="de")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-chart="weeks-chart"' not in html
    assert "Keine Zahlen für diese Auswahl." in html
    link = re.search(r'<a href="\?([^"]+)" class="small">Längerer Zeitraum: Dieses Quartal</a>', html)
    assert link is not None, html[html.find("Keine Zahlen"):][:600]
    assert "period=quarter" in link.group(1) and f"owner={alice.pk}" in link.group(1)


@pytest.mark.django_db
def test_a_period_with_figures_draws_its_chart(client, manager, alice):
    from django.utils import timezone

    kind = AppointmentTypeFactory(name="Erstgespräch", host_user=alice)
    AppointmentFactory(host=alice, appointment_type=kind, start=timezone.now())
    client.force_login(manager)
    html = client.get(reverse("analytics:appointments"), {"period": Period.THIS_MONTH}).content.decode()
    assert 'data-chart="weeks-chart"' in html


@pytest.mark.django_db
def test_the_owner_filter_names_people(client, manager, alice):
    client.force_login(manager)
    html = client.get(reverse("analytics:appointments")).content.decode()
    owner_select = re.search(r'<select[^>]*name="owner".*?</select>', html, re.S).group(0)
    assert ">Alice Albrecht<" in owner_select and ">alice<" not in owner_select
