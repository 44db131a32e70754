"""The address book push against a real Radicale: the cards appear as a phone reads them, only
changed cards are written, deletions, erasures and merges leave the address book, a segment
narrows it, nobody gets people they may not see, an edit on the phone is kept as a conflict
before the CRM's version wins, and a server outage is recorded and recovered from."""

import pytest
from django.contrib.auth.models import Group

from contacts.addressbooks import carddav, sync
from contacts.addressbooks.models import AddressBookCard, AddressBookConflict, AddressBookConnection, AddressBookError
from contacts.models import Person
from contacts.services.duplicates import person_merge
from contacts.services.vcards import person_uid
from contacts.tests import carddav_phone as phone
from contacts.tests.factories import EmploymentFactory, OrganizationFactory, PersonFactory
from crm import privacy
from crm.roles import Role


def uid(person) -> str:
    return f"urn:uuid:{person_uid(person.pk)}"


def add_note(text: str):
    """An edit on the phone: a note added to the card."""

    def change(card):
        card.add("note").value = text

    return change


def push(connection, **kwargs):
    result = sync.addressbook_push(connection_id=connection.pk, **kwargs)
    connection.refresh_from_db()
    return result


@pytest.fixture
def people(alice):
    jürgen = PersonFactory(
        salutation=Person.Salutation.MR, academic_title=Person.AcademicTitle.DR, first_name="Jürgen", last_name="Müßig-Öztürk",
        email="juergen@bäckerei.example", email_secondary="j.muessig@example.de", phone="+49 30 1234567",
        mobile="+49 171 7654321", street="Große Straße 5", postal_code="10115", city="Berlin", owner=alice,
    )
    EmploymentFactory(person=jürgen, organization=OrganizationFactory(name="Bäckerei Groß & Söhne"), position="Geschäftsführer")
    zoë = PersonFactory(first_name="Zoë", last_name="Ängström", email="zoe@example.de", owner=None)
    return jürgen, zoë


def test_it_pushes_the_people_alice_may_see_with_umlauts_and_several_emails_and_phones(alice_book, people, carddav_server):
    jürgen, zoë = people
    result = push(alice_book)
    assert result.pushed == 2 and not result.failed
    cards = phone.cards(carddav_server)
    assert set(cards) == {uid(jürgen), uid(zoë)}
    card = cards[uid(jürgen)]
    assert card.fn.value == "Dr. Jürgen Müßig-Öztürk"
    assert card.n.value.family == "Müßig-Öztürk"
    assert {e.value for e in card.contents["email"]} == {"juergen@bäckerei.example", "j.muessig@example.de"}
    assert {t.value for t in card.contents["tel"]} == {"+49 30 1234567", "+49 171 7654321"}
    assert card.org.value == ["Bäckerei Groß & Söhne"]
    assert card.adr.value.street == "Große Straße 5"
    assert cards[uid(zoë)].fn.value == "Zoë Ängström"
    assert alice_book.last_pushed == 2 and alice_book.last_success_at is not None and alice_book.last_error == ""
    assert AddressBookCard.objects.filter(connection=alice_book).count() == 2


def test_a_second_run_writes_nothing_and_its_queries_do_not_grow_with_the_people(
    alice_book, people, carddav_server, django_assert_max_num_queries
):
    push(alice_book)
    etags = phone.hrefs(carddav_server)
    with django_assert_max_num_queries(8):
        result = push(alice_book)
    assert result.pushed == 0 and result.deleted == 0
    PersonFactory.create_batch(5)
    push(alice_book)
    with django_assert_max_num_queries(8):
        assert push(alice_book).pushed == 0
    assert all(phone.hrefs(carddav_server)[href] == etag for href, etag in etags.items())


def test_an_update_in_the_crm_changes_the_card_and_only_that_card(alice_book, people, carddav_server):
    jürgen, zoë = people
    push(alice_book)
    zoë_etag = phone.hrefs(carddav_server)[carddav.card_href(alice_book.addressbook_url, zoë.pk)]
    jürgen.city, jürgen.mobile = "Köln", "+49 160 1111111"
    jürgen.save()
    result = push(alice_book)
    assert result.pushed == 1
    card = phone.cards(carddav_server)[uid(jürgen)]
    assert card.adr.value.city == "Köln"
    assert "+49 160 1111111" in {t.value for t in card.contents["tel"]}
    assert phone.hrefs(carddav_server)[carddav.card_href(alice_book.addressbook_url, zoë.pk)] == zoë_etag


def test_deleting_erasing_and_merging_remove_the_cards_and_a_merge_leaves_the_survivor(
    alice_book, people, carddav_server, admin_user
):
    jürgen, zoë = people
    survivor = PersonFactory(first_name="Kai", last_name="Weiß", email="kai@example.de")
    duplicate = PersonFactory(first_name="Kai", last_name="Weiss", email="kai.weiss@example.de")
    push(alice_book)
    assert len(phone.cards(carddav_server)) == 4
    zoë.delete()
    privacy.erase_person(Person.objects.get(pk=jürgen.pk), by=admin_user)
    person_merge(survivor=survivor, other=duplicate, user=admin_user)
    result = push(alice_book)
    assert result.deleted == 3 and not result.failed
    assert set(phone.cards(carddav_server)) == {uid(survivor)}
    assert set(AddressBookCard.objects.values_list("person_id", flat=True)) == {survivor.pk}
    assert not AddressBookConflict.objects.exists()


def test_a_segment_scope_pushes_only_its_people_and_follows_it(alice, carddav_server, people, django_capture_on_commit_callbacks):
    from marketing.tests.factories import SegmentFactory

    jürgen, zoë = people
    Person.objects.filter(pk=jürgen.pk).update(lifecycle_stage=Person.Lifecycle.CUSTOMER)
    customers = SegmentFactory(name="Kunden", definition={"lifecycle_stages": [Person.Lifecycle.CUSTOMER]})
    with django_capture_on_commit_callbacks(execute=False):
        connection = sync.addressbook_connect(
            user=alice, url=carddav_server.url, username=phone.CARDDAV_USER, password=phone.CARDDAV_PASSWORD,
            addressbook_name="CRM", scope=AddressBookConnection.Scope.SEGMENT, segment_id=customers.pk,
        )
    push(connection)
    assert set(phone.cards(carddav_server)) == {uid(jürgen)}
    zoë.lifecycle_stage = Person.Lifecycle.CUSTOMER
    zoë.save()
    jürgen.lifecycle_stage = Person.Lifecycle.FORMER_CUSTOMER
    jürgen.save()
    result = push(connection)
    assert (result.pushed, result.deleted) == (1, 1)
    assert set(phone.cards(carddav_server)) == {uid(zoë)}


def test_a_deleted_segment_stops_the_push_without_deleting_anything(alice, carddav_server, people, django_capture_on_commit_callbacks):
    from marketing.tests.factories import SegmentFactory

    segment = SegmentFactory(name="Alle", definition={})
    with django_capture_on_commit_callbacks(execute=False):
        connection = sync.addressbook_connect(
            user=alice, url=carddav_server.url, username=phone.CARDDAV_USER, password=phone.CARDDAV_PASSWORD,
            scope=AddressBookConnection.Scope.SEGMENT, segment_id=segment.pk,
        )
    push(connection)
    segment.delete()
    result = push(connection)
    assert result.failed and connection.last_error == AddressBookError.SEGMENT_GONE
    assert len(phone.cards(carddav_server)) == 2


def test_a_user_never_gets_people_they_cannot_see(alice, alice_book, people, carddav_server):
    from marketing.tests.factories import SegmentFactory

    push(alice_book)
    assert len(phone.cards(carddav_server)) == 2
    # Alice loses her role: she may see nobody, and the cards leave her phone.
    alice.groups.clear()
    result = push(alice_book)
    assert result.deleted == 2
    assert phone.cards(carddav_server) == {}
    # A support agent may see people but no segment: one cannot be chosen, not even by its id.
    agent = Group.objects.get_or_create(name=Role.SUPPORT_AGENT)[0]
    alice.groups.add(agent)
    segment = SegmentFactory(name="Geheim")
    with pytest.raises(carddav.AddressBookFailure) as refused:
        sync.addressbook_connect(user=alice, url=carddav_server.url, username=phone.CARDDAV_USER, password=phone.CARDDAV_PASSWORD,
                                 scope=AddressBookConnection.Scope.SEGMENT, segment_id=segment.pk)
    assert refused.value.code == AddressBookError.SEGMENT_GONE


def test_a_card_changed_on_the_phone_is_kept_as_a_conflict_and_the_crm_version_wins(alice_book, people, carddav_server):
    jürgen, _zoë = people
    push(alice_book)
    href = carddav.card_href(alice_book.addressbook_url, jürgen.pk)
    phone.edit(carddav_server, href, add_note("Privat: Handy nur abends"))
    result = push(alice_book)
    assert (result.pushed, result.conflicts) == (1, 1)
    conflict = AddressBookConflict.objects.get()
    assert conflict.kind == AddressBookConflict.Kind.CHANGED_THERE and conflict.person_id == jürgen.pk
    assert "Handy nur abends" in conflict.remote_card and conflict.person_label == jürgen.full_name
    card = phone.cards(carddav_server)[uid(jürgen)]
    assert "note" not in card.contents
    # Both sides changed: still one conflict for the phone's change, the CRM's change is there.
    phone.edit(carddav_server, href, lambda card: setattr(card.fn, "value", "Jürgen vom Handy"))
    jürgen.city = "Hamburg"
    jürgen.save()
    push(alice_book)
    assert AddressBookConflict.objects.count() == 2
    card = phone.cards(carddav_server)[uid(jürgen)]
    assert card.fn.value == "Dr. Jürgen Müßig-Öztürk" and card.adr.value.city == "Hamburg"
    assert push(alice_book).pushed == 0  # settled: nothing more to write


def test_a_card_deleted_on_the_phone_is_put_back_and_said(alice_book, people, carddav_server):
    jürgen, _zoë = people
    push(alice_book)
    phone.delete(carddav_server, carddav.card_href(alice_book.addressbook_url, jürgen.pk))
    result = push(alice_book)
    assert (result.pushed, result.conflicts) == (1, 1)
    assert AddressBookConflict.objects.get().kind == AddressBookConflict.Kind.DELETED_THERE
    assert uid(jürgen) in phone.cards(carddav_server)


def test_removing_a_card_changed_on_the_phone_keeps_the_phones_version(alice_book, people, carddav_server):
    jürgen, zoë = people
    push(alice_book)
    href = carddav.card_href(alice_book.addressbook_url, zoë.pk)
    phone.edit(carddav_server, href, add_note("Geburtstag 3. Mai"))
    zoë.delete()
    result = push(alice_book)
    assert (result.deleted, result.conflicts) == (1, 1)
    conflict = AddressBookConflict.objects.get()
    assert conflict.kind == AddressBookConflict.Kind.REMOVED_CHANGED and "Geburtstag 3. Mai" in conflict.remote_card
    assert conflict.person_label == "Zoë Ängström"
    assert set(phone.cards(carddav_server)) == {uid(jürgen)}


def test_an_erased_person_is_removed_without_keeping_the_phones_version(alice_book, people, carddav_server, admin_user):
    jürgen, _zoë = people
    push(alice_book)
    href = carddav.card_href(alice_book.addressbook_url, jürgen.pk)
    phone.edit(carddav_server, href, add_note("Privatnummer"))
    privacy.erase_person(Person.objects.get(pk=jürgen.pk), by=admin_user)
    result = push(alice_book)
    assert result.deleted == 1 and result.conflicts == 0
    assert not AddressBookConflict.objects.exists()
    assert uid(jürgen) not in phone.cards(carddav_server)


def test_the_server_down_is_recorded_in_words_and_the_next_run_recovers(alice_book, people, carddav_server):
    carddav_server.stop()
    result = push(alice_book)
    assert result.failed
    assert alice_book.last_error == AddressBookError.UNREACHABLE and alice_book.last_error_at is not None
    assert alice_book.last_success_at is None and alice_book.lease_until is None
    carddav_server.restart()
    result = push(alice_book)
    assert result.pushed == 2 and not result.failed
    assert alice_book.last_error == "" and alice_book.last_success_at is not None
    assert len(phone.cards(carddav_server)) == 2


def test_a_run_writes_a_bounded_batch_and_the_task_goes_on_with_the_rest(alice_book, carddav_server, settings):
    from contacts.tasks import addressbook_push

    PersonFactory.create_batch(5)
    settings.CRM_ADDRESSBOOK_BATCH = 2
    result = push(alice_book)
    assert (result.pushed, result.waiting) == (2, 3) and alice_book.waiting == 3
    addressbook_push.delay(alice_book.pk)  # eager: the batches follow one another
    alice_book.refresh_from_db()
    assert alice_book.waiting == 0
    assert len(phone.cards(carddav_server)) == 5


def test_too_many_people_for_one_address_book_are_refused_in_words(alice_book, carddav_server, settings):
    PersonFactory.create_batch(3)
    settings.CRM_ADDRESSBOOK_MAX_CARDS = 2
    result = push(alice_book)
    assert result.failed and alice_book.last_error == AddressBookError.TOO_MANY
    assert phone.cards(carddav_server) == {}


def test_a_second_run_at_the_same_time_does_nothing(alice_book, people):
    assert sync._claim(alice_book.pk)
    assert sync.addressbook_push(connection_id=alice_book.pk) is None
    assert not AddressBookCard.objects.exists()


def test_a_paused_address_book_is_not_pushed(alice_book, people):
    sync.addressbook_set_paused(connection=alice_book, paused=True)
    assert sync.addressbook_push(connection_id=alice_book.pk) is None
    assert sync.connections_due() == []


def test_a_change_of_a_person_pushes_soon_after(alice_book, carddav_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = PersonFactory(first_name="Günther", last_name="Straßmann")
    # Celery runs eagerly in the tests: the push queued after the commit has run.
    assert uid(person) in phone.cards(carddav_server)


def test_connecting_another_address_book_writes_the_cards_there_anew(alice, alice_book, people, carddav_server, django_capture_on_commit_callbacks):
    push(alice_book)
    with django_capture_on_commit_callbacks(execute=False):
        connection = sync.addressbook_connect(user=alice, url=carddav_server.url, username=phone.CARDDAV_USER,
                                              password=phone.CARDDAV_PASSWORD, addressbook_name="Kunden")
    assert connection.pk == alice_book.pk and not connection.cards.exists()
    push(connection)
    assert len(phone.cards(carddav_server, "kunden")) == 2
    assert len(phone.cards(carddav_server, "crm")) == 2  # the old one is left as it was
