from django import forms
from django.utils.translation import gettext_lazy as _

from crm import webhooks
from crm.models import WebhookEndpoint
from crm.webhooks.delivery import RefusedDestination, check_url


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=_("Events"), choices=(), widget=forms.CheckboxSelectMultiple,
        help_text=_("The receiver gets these events, signed, as the API shows the record."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types"]
        help_texts = {"url": _("An https:// address on the internet; private and local networks are refused.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = list(webhooks.EVENT_TYPES.items())
        self.fields["url"].assume_scheme = "https"

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except RefusedDestination as error:
            raise forms.ValidationError(error.messages) from None
        return url
