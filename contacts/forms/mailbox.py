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

    class Meta:
        model = MailboxConnection
        fields = ["host", "port", "security", "username", "password", "excluded"]
        widgets = {"excluded": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"host": _("For example imap.example.com (without imap://).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["port"].min_value = 1
        self.fields["port"].max_value = 65535
        self.fields["port"].validators.clear()
        if self.instance.pk:
            self.fields["password"].help_text = _("Leave empty to keep the stored password.")

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
        return cleaned
