"""The mailbox connection on the user's own page (contacts.views.mailbox)."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.mailboxes.models import MailboxConnection

HOST = re.compile(r"^[A-Za-z0-9.\-]{1,253}$|^\[?[0-9A-Fa-f:.]{2,45}\]?$")


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password or app password"), required=False, max_length=500, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text=_("With two-factor login at your mail provider, create an app password there."),
    )

    smtp_password = forms.CharField(
        label=_("SMTP password"), required=False, max_length=500, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text=_("Often the same as the mailbox's password."),
    )

    class Meta:
        model = MailboxConnection
        fields = [
            "host", "port", "security", "username", "password", "excluded",
            "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password",
        ]
        widgets = {"excluded": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "host": _("For example imap.example.com (without imap://)."),
            "smtp_host": _("Optional. For example smtp.example.com: emails you write in the CRM then go out "
                           "from your own address and appear in your Sent folder. Leave empty to send "
                           "through the CRM's server."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["port"].min_value = 1
        self.fields["port"].max_value = 65535
        self.fields["port"].validators.clear()
        self.fields["smtp_port"].min_value = 1
        self.fields["smtp_port"].max_value = 65535
        self.fields["smtp_port"].validators.clear()
        self.fields["smtp_port"].required = self.fields["smtp_security"].required = False
        if self.instance.pk:
            self.fields["password"].help_text = _("Leave empty to keep the stored password.")
        if self.instance.smtp_password_encrypted:
            self.fields["smtp_password"].help_text = _("Leave empty to keep the stored password.")

    def clean_host(self):
        host = self.cleaned_data["host"].strip().lower()
        if not HOST.match(host):
            raise forms.ValidationError(_("Enter the server's name, such as imap.example.com."))
        return host.strip("[]")

    def clean_port(self):
        port = self.cleaned_data["port"]
        if not 1 <= port <= 65535:
            raise forms.ValidationError(_("A port is a number from 1 to 65535."))
        return port

    def clean_smtp_host(self):
        host = self.cleaned_data["smtp_host"].strip().lower()
        if host and not HOST.match(host):
            raise forms.ValidationError(_("Enter the server's name, such as smtp.example.com."))
        return host.strip("[]")

    def clean_smtp_security(self):
        return self.cleaned_data["smtp_security"] or MailboxConnection.SmtpSecurity.STARTTLS

    def clean_smtp_port(self):
        port = self.cleaned_data["smtp_port"]
        if port is None:
            return 587
        if not 1 <= port <= 65535:
            raise forms.ValidationError(_("A port is a number from 1 to 65535."))
        return port

    def clean_excluded(self):
        lines = []
        for line in self.cleaned_data["excluded"].splitlines():
            entry = line.strip().lower()
            if not entry:
                continue
            if " " in entry or "." not in entry.lstrip("@").rpartition("@")[2] or len(entry) > 254:
                raise forms.ValidationError(
                    _("“%(entry)s” is neither an address nor a domain.") % {"entry": entry[:60]}
                )
            lines.append(entry)
        if len(lines) > 500:
            raise forms.ValidationError(_("At most 500 entries."))
        return "\n".join(dict.fromkeys(lines))

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("password"):
            self.add_error("password", _("Enter the password of this mailbox."))
        if cleaned.get("smtp_host"):
            cleaned["smtp_username"] = (cleaned.get("smtp_username") or "").strip()
            if not cleaned["smtp_username"]:
                self.add_error("smtp_username", _("Enter the user name of the SMTP account."))
            if not cleaned.get("smtp_password") and not self.instance.smtp_password_encrypted:
                self.add_error("smtp_password", _("Enter the password of the SMTP account."))
        return cleaned


class PersonEmailForm(forms.Form):
    """An email to a person, written on their page (contacts.mailboxes.sending)."""

    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Text"), max_length=100_000, widget=forms.Textarea(attrs={"rows": 12}))

    def clean_subject(self):
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError(_("Enter a subject."))
        return subject
