"""Form fields shared by all apps."""

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField as FilterModelChoiceField

from crm import outbox, ratelimit, twofactor


def parse_id(value) -> int | None:
    """A primary key from submitted data, or None for anything that cannot be one (text, or a
    number too big for the database)."""
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 19 else None


class OverflowSafeMixin:
    """Ids too big for the database make SQLite raise OverflowError, which Django does not
    catch: treat them as the invalid choice they are."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


def user_label(user) -> str:
    """How a user is named in a choice: the full name, else the username."""
    return user.get_full_name() or user.get_username()


class UserNamesMixin:
    """Users offered by their names ("Lena Wagner"), not their usernames ("vertrieb")."""

    def label_from_instance(self, obj):
        if isinstance(obj, AbstractBaseUser):
            return user_label(obj)
        return super().label_from_instance(obj)


class SafeModelChoiceField(OverflowSafeMixin, UserNamesMixin, forms.ModelChoiceField):
    """Django's ModelChoiceField, with oversized ids reported as an invalid choice and users by name."""


class SafeFilterModelChoiceField(OverflowSafeMixin, UserNamesMixin, FilterModelChoiceField):
    """django-filter's ModelChoiceField (which knows `null_label`), likewise."""


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        try:
            return super()._check_values(value)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": "…"})


class LoginForm(AuthenticationForm):
    """Username and password, plus the code from the authenticator app for users who turned on
    two-factor login. The code is checked only after the password (django-axes counts failures)."""

    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        max_length=16,
        help_text=_("Only if you turned on two-factor login. A backup code works too."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and twofactor.is_enabled(user):
            token = cleaned.get("otp_token", "")
            if not token:
                raise ValidationError(
                    {"otp_token": _("Enter the code from your authenticator app.")}, code="otp_required"
                )
            device = twofactor.verify(user, token)
            if device is None:
                raise ValidationError({"otp_token": _("This code is wrong or expired.")}, code="otp_invalid")
            # django_otp logs the device into the session when auth.login sees this attribute.
            user.otp_device = device
        return cleaned


class TwoFactorConfirmForm(forms.Form):
    token = forms.CharField(
        label=_("Code shown in the app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's password reset, its email stored in the outbox (crm.outbox) and delivered by a
    worker: a mail server that is down loses nothing and shows the visitor no error. One account
    gets at most CRM_PASSWORD_RESET_RECIPIENT_LIMIT resets in the rate-limit window, however many
    visitors ask (the page answers them all alike)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        if ratelimit.hit("password-reset-recipient", to_email.strip().lower(),
                         limit=settings.CRM_PASSWORD_RESET_RECIPIENT_LIMIT):
            return
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = loader.render_to_string(html_email_template_name, context) if html_email_template_name else ""
        outbox.email_queue(to=to_email, subject=subject, body=body, html=html, from_email=from_email,
                           regarding=context["user"])


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. “Web shop sync”."))
    scope = forms.ChoiceField(label=_("Scope"), choices=(), initial="read")
    expires_on = forms.DateField(
        label=_("Expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty: until you revoke it. The token stops working at the start of this day."),
    )

    def __init__(self, *args, **kwargs):
        from crm.models import ApiToken

        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = ApiToken.Scope.choices

    def clean_expires_on(self):
        from django.utils import timezone

        value = self.cleaned_data.get("expires_on")
        if value is not None and value <= timezone.localdate():
            raise ValidationError(_("Choose a day after today."))
        return value
