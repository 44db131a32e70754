"""Forms: they validate and convert, the services do the work."""

import zoneinfo
from datetime import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import (
    DEFAULT_TIME_ZONE,
    AppointmentType,
    Availability,
    AvailabilityException,
    SlotOffer,
    WorkingHours,
    german_subdivision_choices,
    time_zone_choices,
)
from crm.forms import SafeModelChoiceField
from crm.models import Team, managed_user_ids
from crm.roles import Role, has_role
from crm.widgets import AutocompleteModelChoiceField


class TimeZoneField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Time zone"))
        kwargs.setdefault("initial", DEFAULT_TIME_ZONE)
        super().__init__(choices=time_zone_choices, **kwargs)


class ReminderOffsetsField(forms.CharField):
    """"1440, 60" <-> [1440, 60]."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return []
        try:
            offsets = sorted({int(part) for part in value.replace(";", ",").split(",") if part.strip()}, reverse=True)
        except ValueError as error:
            raise forms.ValidationError(_("Give minutes as whole numbers separated by commas, e.g. 1440, 60.")) from error
        if any(o <= 0 or o > 60 * 24 * 30 for o in offsets) or len(offsets) > 5:
            raise forms.ValidationError(_("Up to five reminders, each between 1 and 43200 minutes before."))
        return offsets


class AppointmentTypeForm(forms.ModelForm):
    reminder_offsets = ReminderOffsetsField(
        label=_("Reminders (minutes before)"),
        required=False,
        help_text=_("For example 1440, 60: one day and one hour before. Empty: no reminders."),
    )

    class Meta:
        model = AppointmentType
        fields = [
            "name", "description", "duration", "buffer_before", "buffer_after", "slot_interval", "location_kind",
            "location_detail", "min_notice", "max_days_ahead", "host_user", "host_team", "assignment",
            "reminder_offsets", "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        teams = Team.objects.all()
        if not has_role(user, Role.ADMIN):
            users = users.filter(pk__in=managed_user_ids(user))
            teams = teams.filter(manager=user)
        self.fields["host_user"].queryset = users
        self.fields["host_team"].queryset = teams
        self.fields["host_user"].label_from_instance = lambda u: u.get_full_name() or u.username


class AvailabilityForm(forms.ModelForm):
    time_zone = TimeZoneField()
    holiday_subdivision = forms.ChoiceField(label=_("Public holidays of"), required=False, choices=german_subdivision_choices)

    class Meta:
        model = Availability
        fields = ["time_zone", "holiday_subdivision"]


WorkingHoursFormSet = forms.inlineformset_factory(
    Availability,
    WorkingHours,
    fields=["weekday", "start", "end"],
    extra=2,
    can_delete=True,
    max_num=30,
    widgets={
        "weekday": forms.Select(attrs={"class": "form-select form-select-sm"}),
        "start": forms.TimeInput(attrs={"type": "time", "class": "form-control form-control-sm"}, format="%H:%M"),
        "end": forms.TimeInput(attrs={"type": "time", "class": "form-control form-control-sm"}, format="%H:%M"),
    },
)


class AvailabilityExceptionForm(forms.ModelForm):
    start = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    class Meta:
        model = AvailabilityException
        fields = ["kind", "start", "end", "note"]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end must be after the start."))
        return data


class OfferForm(forms.Form):
    appointment_type = forms.ModelChoiceField(label=_("Appointment type"), queryset=AppointmentType.objects.none())
    mode = forms.ChoiceField(label=_("How"), choices=SlotOffer.Mode.choices, widget=forms.RadioSelect, initial=SlotOffer.Mode.SLOTS)
    customer_name = forms.CharField(label=_("Name"), max_length=200)
    customer_email = forms.EmailField(label=_("Email"))
    customer_time_zone = TimeZoneField()
    language = forms.ChoiceField(label=_("Language of the email"), choices=[("de", _("German")), ("en", _("English"))])
    slots = forms.MultipleChoiceField(
        label=_("Times to propose"), required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    message = forms.CharField(label=_("Message"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, slot_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = AppointmentType.objects.active()
        self.fields["slots"].choices = slot_choices

    def clean(self):
        data = super().clean()
        if data.get("mode") == SlotOffer.Mode.SLOTS:
            chosen = data.get("slots") or []
            if not chosen:
                self.add_error("slots", _("Pick at least one time, or send a link to the booking page."))
            elif len(chosen) > 10:
                self.add_error("slots", _("Propose at most ten times."))
        return data

    def chosen_slots(self) -> list[tuple[datetime, int]]:
        result = []
        for value in self.cleaned_data.get("slots") or []:
            start, host = value.rsplit("|", 1)
            result.append((datetime.fromisoformat(start), int(host)))
        return result


class StaffBookingForm(forms.Form):
    """A fixed appointment that staff enter for a customer (appointments.services.appointment_enter)."""

    person = AutocompleteModelChoiceField(
        queryset=None, url_name="contacts:person_autocomplete", label=_("Customer"),
        help_text=_("Type a name or an email address."),
    )
    appointment_type = forms.ModelChoiceField(label=_("Appointment type"), queryset=AppointmentType.objects.none())
    host = SafeModelChoiceField(label=_("Host"), queryset=None)
    start = forms.DateTimeField(
        label=_("Start"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    override = forms.BooleanField(
        label=_("Book even outside the host's free times"), required=False,
        help_text=_("For a time agreed with the host. Never on top of another appointment of the host."),
    )

    def __init__(self, *args, people, hosts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        self.fields["person"].widget.queryset = people
        self.fields["appointment_type"].queryset = AppointmentType.objects.active()
        self.fields["host"].queryset = hosts

    def clean_person(self):
        person = self.cleaned_data["person"]
        if not person.email:
            raise forms.ValidationError(_("This person has no email address for the invitation."))
        return person

    def clean_start(self):
        start = self.cleaned_data["start"]
        if start <= timezone.now():
            raise forms.ValidationError(_("Choose a time in the future."))
        return start

    def clean(self):
        data = super().clean()
        kind, host = data.get("appointment_type"), data.get("host")
        if kind is not None and host is not None and host.pk not in kind.host_ids():
            self.add_error("host", _("%(host)s does not host “%(type)s”.") % {"host": host.get_full_name() or host, "type": kind})
        return data


class BookingForm(forms.Form):
    """The customer's part of a booking; the time is validated by the service (it may be taken)."""

    slot = forms.CharField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your email address"))
    note = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_slot(self):
        value = self.cleaned_data.get("slot", "")
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError) as error:
            raise forms.ValidationError(_("Please choose a time.")) from error
        if moment.tzinfo is None:
            raise forms.ValidationError(_("Please choose a time."))
        return moment


def zone_or_default(name: str | None, default: str = DEFAULT_TIME_ZONE) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name) if name and "/" in name else zoneinfo.ZoneInfo(default)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(default)


class CalendarConnectionForm(forms.Form):
    """A CalDAV calendar: the server's address (its well-known address is tried first), the
    login, and optionally which of the account's calendars."""

    url = forms.URLField(
        label=_("Server address"), max_length=500, assume_scheme="https",
        help_text=_("For example https://cloud.example.com/ (Nextcloud), https://caldav.icloud.com/ or the calendar's own address."),
    )
    username = forms.CharField(label=_("User name"), max_length=200)
    password = forms.CharField(
        label=_("Password or app password"), max_length=500, strip=False, widget=forms.PasswordInput(render_value=False)
    )
    calendar_name = forms.CharField(
        label=_("Calendar"), max_length=200, required=False,
        help_text=_("The calendar's name; empty: the account's first calendar."),
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(_("Give an http or https address."))
        return url
