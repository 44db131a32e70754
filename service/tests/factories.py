from datetime import time

import factory

from contacts.tests.factories import PersonFactory
from crm.tests.factories import UserFactory
from service.models import AgentProfile, BusinessCalendar, Category, ServiceTeam, SLAPolicy, Ticket


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar
        django_get_or_create = ("name",)

    name = "Deutschland"
    subdivision = "BY"
    opens_at = time(8)
    closes_at = time(17)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceTeam
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Support {n}")
    calendar = factory.SubFactory(CalendarFactory)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Kategorie {n}")


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    languages = factory.LazyFunction(lambda: ["de"])
    works_from = time(0)
    works_until = time(23, 59)
    workdays = factory.LazyFunction(lambda: [0, 1, 2, 3, 4, 5, 6])


class SLAPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPolicy
        django_get_or_create = ("priority", "tier")

    priority = Ticket.Priority.NORMAL
    tier = "standard"
    first_response_hours = 4
    resolution_hours = 16
    calendar = factory.SubFactory(CalendarFactory)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Rechnung falsch {n}")
    person = factory.SubFactory(PersonFactory)
    status = Ticket.Status.OPEN
