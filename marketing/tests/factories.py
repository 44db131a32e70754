import factory

from contacts.tests.factories import PersonFactory
from marketing.models import Campaign, CampaignMember, Consent, EmailTemplate, Segment, WebForm

HTML = """<p>{{ salutation }},</p><p>unser Angebot für {{ organization }}:
<a href="https://www.example.de/angebot">Zum Angebot</a> und <a href="https://www.example.de/termin">Termin</a>.</p>"""


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    name = factory.Sequence(lambda n: f"Vorlage {n}")
    language = "de"
    subject = "Hallo {{ first_name }}"
    body_html = HTML


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    definition = factory.LazyFunction(dict)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Kampagne {n}")
    code = factory.Sequence(lambda n: f"kampagne-{n}")
    channel = Campaign.Channel.EMAIL
    template = factory.SubFactory(EmailTemplateFactory)


class CampaignMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignMember

    campaign = factory.SubFactory(CampaignFactory)
    person = factory.SubFactory(PersonFactory)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    person = factory.SubFactory(PersonFactory)
    purpose = Consent.Purpose.NEWSLETTER
    channel = Consent.Channel.EMAIL
    status = Consent.Status.GRANTED
    source = Consent.Source.DOUBLE_OPT_IN
    text_version = "2026-01"


class WebFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebForm

    name = factory.Sequence(lambda n: f"Formular {n}")
    title = "Kontakt aufnehmen"
    fields = factory.LazyFunction(lambda: ["first_name", "company", "message"])
