"""`seed_demo` never sends email: every address, website and domain it makes is reserved for
examples (RFC 2606), and the periodic jobs find nothing due from the demo's past, so even with
an SMTP server configured and delivery to reserved domains switched on, nothing goes out."""

import io
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models

from appointments.tasks import reminders_send_due
from crm import outbox
from crm.models import OutgoingEmail
from crm.tasks import email_deliver, emails_resume
from crm.tests.smtp import SmtpSink
from marketing.tasks import sends_resume_stalled
from sales.tasks import send_task_reminders
from service.tasks import sla_escalate

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"contacts", "sales", "marketing", "service", "appointments", "analytics", "crm"}


def _reserved_host(host: str) -> bool:
    return outbox.is_reserved_address(f"x@{host}")


def _values(kind: str):
    """(model, field, value) of every stored email address ("email") or web address ("url")."""
    user_model = get_user_model()
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS and model is not user_model:
            continue
        for field in model._meta.concrete_fields:
            if kind == "email":
                # The outbox's sender addresses come from the settings (SERVICE_FROM_EMAIL ...), not the demo.
                wanted = isinstance(field, models.EmailField) or field.name in {"to", "customer_email"}
            else:
                wanted = isinstance(field, models.URLField) or field.name == "website"
            if wanted and isinstance(field, models.CharField):
                for value in model._default_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True).distinct():
                    yield model, field.name, value


@pytest.fixture
def sink(settings):
    server = SmtpSink().start().use(settings)
    settings.CRM_EMAIL_DELIVER_RESERVED = True  # "asked for": demo addresses would be delivered
    yield server
    server.stop()


@pytest.mark.parametrize(
    "moment",
    [datetime(2027, 3, 1, 9, 15, tzinfo=ZoneInfo("Europe/Berlin")), datetime(2027, 6, 16, 14, 5, tzinfo=ZoneInfo("Europe/Berlin"))],
    ids=["1st", "mid-month"],
)
def test_seed_demo_and_the_first_beat_send_no_mail(sink, django_capture_on_commit_callbacks, moment):
    with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--force", stdout=io.StringIO())
        # What beat runs at its start: reminders, escalations, campaign sends, the outbox.
        assert send_task_reminders() == 0
        assert reminders_send_due() == 0
        assert sla_escalate() == 0
        sends_resume_stalled()
        emails_resume()
        for email_id in OutgoingEmail.objects.filter(state=OutgoingEmail.State.QUEUED).values_list("pk", flat=True):
            email_deliver(email_id)

    assert sink.messages == []
    assert not OutgoingEmail.objects.exclude(state=OutgoingEmail.State.SUPPRESSED).exists()


def test_every_address_and_website_of_the_demo_is_on_a_reserved_domain():
    call_command("seed_demo", "--force", stdout=io.StringIO())
    emails = list(_values("email"))
    urls = list(_values("url"))
    assert len(emails) > 200 and len(urls) > 50
    assert [(m.__name__, f, v) for m, f, v in emails if not outbox.is_reserved_address(v)] == []
    assert [(m.__name__, f, v) for m, f, v in urls if not _reserved_host(urlsplit(v).hostname or "")] == []
