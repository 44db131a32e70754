"""The address book connection on the user's own page (contacts.views.addressbook)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.addressbooks import scopes
from contacts.addressbooks.models import AddressBookConnection


class AddressBookForm(forms.Form):
    """A CardDAV address book: the server's address (its well-known address is tried first), the
    login, which address book, and which people go there."""

    url = forms.URLField(
        label=_("Server address"), max_length=500, assume_scheme="https",
        help_text=_("For example https://cloud.example.com/ (Nextcloud), https://contacts.icloud.com/ or the address book's own address."),
    )
    username = forms.CharField(label=_("User name"), max_length=200)
    password = forms.CharField(
        label=_("Password or app password"), max_length=500, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )
    addressbook_name = forms.CharField(
        label=_("Address book"), max_length=200, required=False, initial="CRM",
        help_text=_("Best a separate one: the CRM's cards there follow the CRM. Created if the account has none by this name."),
    )
    scope = forms.ChoiceField(
        label=_("Which people"), choices=AddressBookConnection.Scope.choices, initial=AddressBookConnection.Scope.ALL,
        widget=forms.RadioSelect,
    )
    segment = forms.TypedChoiceField(label=_("Segment"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", "—"), *scopes.segment_choices(user)]
        if len(self.fields["segment"].choices) == 1:
            self.fields["segment"].help_text = _("You may see no segment.")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(_("Give an http or https address."))
        return url

    def clean(self):
        data = super().clean()
        if data.get("scope") == AddressBookConnection.Scope.SEGMENT and not data.get("segment"):
            self.add_error("segment", _("Choose the segment whose people go to the address book."))
        return data
