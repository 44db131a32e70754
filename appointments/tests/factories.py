from datetime import time, timedelta

import factory
from django.utils import timezone

from appointments.models import Appointment, AppointmentType, Availability, WorkingHours
from crm.tests.factories import UserFactory


class AvailabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Availability
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)

    @factory.post_generation
    def weekdays(self, create, extracted, **kwargs):
        """Working hours Monday to Friday, 9 to 17, unless `weekdays=[]` is given."""
        if not create:
            return
        days = range(5) if extracted is None else extracted
        WorkingHours.objects.bulk_create(WorkingHours(availability=self, weekday=d, start=time(9), end=time(17)) for d in days)


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    name = "Erstgespräch 30 Min"
    duration = 30
    buffer_before = 0
    buffer_after = 10
    slot_interval = 30
    min_notice = 60
    max_days_ahead = 60
    host_user = factory.SubFactory(UserFactory)


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    host = factory.LazyAttribute(lambda a: a.appointment_type.host_user)
    customer_name = "Jürgen Müller"
    customer_email = "j.mueller@example.de"
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    end = factory.LazyAttribute(lambda a: a.start + timedelta(minutes=a.appointment_type.duration))
    blocked_start = factory.LazyAttribute(lambda a: a.start - timedelta(minutes=a.appointment_type.buffer_before))
    blocked_end = factory.LazyAttribute(lambda a: a.end + timedelta(minutes=a.appointment_type.buffer_after))
