"""A user's CardDAV address book, the cards the CRM wrote there, and the conflicts found.

A card's person is a plain id, not a foreign key: when the person is deleted or merged away,
the row stays, so the next run knows which card to delete there."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import secrets


class AddressBookError(models.TextChoices):
    """What went wrong, in words the user understands (the server's answer is kept beside it)."""

    NOT_FOUND = "not_found", _("The server was not found at this address.")
    UNREACHABLE = "unreachable", _("The address book server did not answer.")
    LOGIN = "login", _("The server refused the user name or password.")
    NOT_CARDDAV = "not_carddav", _("There is no CardDAV address book at this address.")
    NO_ADDRESSBOOK = "no_addressbook", _("The account has no address book with this name, and the server did not let the CRM create one.")
    SERVER = "server", _("The address book server answered with an error.")
    REJECTED = "rejected", _("The server refused a card.")
    SEGMENT_GONE = "segment_gone", _("The chosen segment no longer exists or you may no longer see it; nothing was changed in the address book.")
    TOO_MANY = "too_many", _("More people than one address book should hold; choose a segment.")


class AddressBookConnection(models.Model):
    class Scope(models.TextChoices):
        ALL = "all", _("All people I may see")
        SEGMENT = "segment", _("The people of one segment")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="addressbook_connection"
    )
    url = models.URLField(_("server address"), max_length=500)
    addressbook_url = models.URLField(_("address book"), max_length=500)
    addressbook_name = models.CharField(_("address book name"), max_length=200, blank=True)
    username = models.CharField(_("user name"), max_length=200)
    password_encrypted = models.TextField(editable=False)
    scope = models.CharField(_("which people"), max_length=10, choices=Scope.choices, default=Scope.ALL)
    # A segment of marketing's, by id (contacts knows no segment model: contacts.addressbooks.scopes).
    segment_id = models.PositiveBigIntegerField(_("segment"), null=True, blank=True)
    segment_name = models.CharField(_("segment name"), max_length=150, blank=True)
    is_paused = models.BooleanField(_("paused"), default=False)
    created_at = models.DateTimeField(_("connected"), default=timezone.now, editable=False)
    # How the last run went: when, what it wrote, and what is still waiting (a run writes a bounded batch).
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful run"), null=True, blank=True)
    last_pushed = models.PositiveIntegerField(_("cards written in the last run"), default=0)
    last_deleted = models.PositiveIntegerField(_("cards deleted in the last run"), default=0)
    last_rejected = models.PositiveIntegerField(_("cards refused in the last run"), default=0)
    last_conflicts = models.PositiveIntegerField(_("conflicts in the last run"), default=0)
    waiting = models.PositiveIntegerField(_("changes waiting for the next run"), default=0)
    last_error = models.CharField(_("error"), max_length=20, choices=AddressBookError.choices, blank=True)
    last_error_detail = models.CharField(_("server's answer"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("error at"), null=True, blank=True)
    # One run at a time per address book; a lease that a killed worker leaves behind runs out.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("address book connection")
        verbose_name_plural = _("address book connections")

    def __str__(self) -> str:
        return f"{self.username} · {self.addressbook_url}"

    def get_absolute_url(self) -> str:
        return reverse("contacts:addressbook")

    def password(self) -> str:
        return secrets.decrypt(self.password_encrypted)

    def set_password(self, plain: str) -> None:
        self.password_encrypted = secrets.encrypt(plain)


class AddressBookCard(models.Model):
    """One card the CRM wrote: `etag` is the version it wrote (a later write or delete goes out
    with If-Match on it), `card_hash` the SHA-256 of the vCard it wrote (only a changed card is
    written again)."""

    connection = models.ForeignKey(AddressBookConnection, on_delete=models.CASCADE, related_name="cards")
    person_id = models.BigIntegerField(_("person"))
    href = models.URLField(max_length=700)
    etag = models.CharField(max_length=200, blank=True)
    card_hash = models.CharField(max_length=64, blank=True)
    pushed_at = models.DateTimeField(_("written"), default=timezone.now)
    # Why the server refused the card the last time (empty: written).
    last_error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("address book card")
        verbose_name_plural = _("address book cards")
        constraints = [
            models.UniqueConstraint(fields=["connection", "person_id"], name="addressbook_card_person_unique"),
        ]

    def __str__(self) -> str:
        return self.href


class AddressBookConflict(models.Model):
    """A card changed or deleted on the phone that the CRM wrote over or removed: the phone's
    version is kept here, so the user can carry a change over into the CRM before dismissing it."""

    class Kind(models.TextChoices):
        CHANGED_THERE = "changed_there", _("Changed on the phone; the CRM's version was written over it")
        DELETED_THERE = "deleted_there", _("Deleted on the phone; the CRM put it back, because the person is in the address book's scope")
        REMOVED_CHANGED = "removed_changed", _("Changed on the phone, then removed, because the person left the address book's scope")

    connection = models.ForeignKey(AddressBookConnection, on_delete=models.CASCADE, related_name="conflicts")
    person_id = models.BigIntegerField(_("person"))
    person_label = models.CharField(_("name"), max_length=250, blank=True)
    kind = models.CharField(_("what happened"), max_length=20, choices=Kind.choices)
    remote_card = models.TextField(_("the phone's version"), blank=True)
    detected_at = models.DateTimeField(_("found"), default=timezone.now)

    class Meta:
        verbose_name = _("address book conflict")
        verbose_name_plural = _("address book conflicts")
        ordering = ["-detected_at", "-pk"]
        indexes = [models.Index(fields=["connection", "-detected_at"], name="addressbook_conflict_idx")]

    def __str__(self) -> str:
        return f"{self.person_label}: {self.kind}"
