import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity
from contacts.tests.factories import PersonFactory, TaskFactory


@pytest.fixture
def person(alice):
    return PersonFactory(owner=alice)


def test_note_is_added_without_reload(person, bob, client_for):
    response = client_for(bob).post(
        reverse("contacts:activity_create"),
        {"form": "note", "person": person.pk, "note-kind": "call", "note-subject": "Rückruf wegen Angebot",
         "note-occurred_at": "2026-11-20T10:00"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Rückruf wegen Angebot" in body and 'id="timeline"' in body and 'hx-swap-oob="true"' in body
    activity = Activity.objects.get()
    assert activity.kind == "call" and activity.created_by == bob and activity.person == person


def test_task_needs_a_due_date(person, alice, client_for):
    response = client_for(alice).post(
        reverse("contacts:activity_create"),
        {"form": "task", "person": person.pk, "task-subject": "Angebot nachfassen", "task-assignee": alice.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#task-form"
    assert not Activity.objects.exists()


def test_task_is_created_and_shown_on_the_start_page(person, alice, client_for):
    due = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    client = client_for(alice)
    client.post(
        reverse("contacts:activity_create"),
        {"form": "task", "person": person.pk, "task-subject": "Angebot nachfassen", "task-due_at": due,
         "task-assignee": alice.pk},
        HTTP_HX_REQUEST="true",
    )
    assert Activity.objects.get().kind == "task"
    assert "Angebot nachfassen" in client.get(reverse("home")).content.decode()


def test_activity_about_nobody_is_refused(alice, client_for):
    response = client_for(alice).post(reverse("contacts:activity_create"), {"form": "note", "note-subject": "x"})
    assert response.status_code == 403


def test_assignee_ticks_off_a_task_and_outsider_cannot(person, alice, charlie, client_for):
    task = TaskFactory(person=person, created_by=alice, assignee=alice)
    url = reverse("contacts:activity_toggle_done", args=[task.pk])
    assert client_for(charlie).post(url).status_code == 403
    assert client_for(alice).post(url, HTTP_HX_REQUEST="true").status_code == 200
    task.refresh_from_db()
    assert task.done and task.done_at is not None


def test_manager_sees_team_overdue_tasks(person, alice, manager, client_for):
    TaskFactory(person=person, created_by=alice, assignee=alice, subject="Überfällig", due_at=timezone.now() - timezone.timedelta(days=2))
    body = client_for(manager).get(reverse("home")).content.decode()
    assert "Überfällig" in body


def test_task_list_shows_my_open_tasks_only(person, alice, bob, client_for):
    TaskFactory(person=person, created_by=alice, assignee=alice, subject="Meine Aufgabe")
    TaskFactory(person=person, created_by=bob, assignee=bob, subject="Bobs Aufgabe")
    body = client_for(alice).get(reverse("contacts:task_list")).content.decode()
    assert "Meine Aufgabe" in body and "Bobs Aufgabe" not in body


def test_older_timeline_entries_load_on_demand(person, alice, client_for):
    for day in range(35):
        Activity.objects.create(
            person=person, subject=f"Eintrag {day:02d}", created_by=alice,
            occurred_at=timezone.now() - timezone.timedelta(days=day),
        )
    client = client_for(alice)
    body = client.get(person.get_absolute_url()).content.decode()
    assert "Eintrag 00" in body and "Eintrag 34" not in body
    before = Activity.objects.order_by("-occurred_at")[29].occurred_at.isoformat()
    more = client.get(reverse("contacts:timeline"), {"person": person.pk, "before": before}).content.decode()
    assert "Eintrag 34" in more and "Eintrag 00" not in more


def test_activity_on_a_person_also_shows_on_their_organization(person, alice, client_for):
    from contacts.tests.factories import EmploymentFactory

    employment = EmploymentFactory(person=person)
    client = client_for(alice)
    client.post(
        reverse("contacts:activity_create"),
        {"form": "note", "person": person.pk, "note-kind": "call", "note-subject": "Anruf zum Rahmenvertrag",
         "note-occurred_at": "2026-11-20T10:00"},
        HTTP_HX_REQUEST="true",
    )
    assert Activity.objects.get().organization == employment.organization
    assert "Anruf zum Rahmenvertrag" in client.get(employment.organization.get_absolute_url()).content.decode()
