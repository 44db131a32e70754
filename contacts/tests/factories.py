import factory
from django.utils import timezone

from contacts.models import Activity, Employment, Organization, Person, Tag
from crm.tests.factories import UserFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tag {n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Faker("company", locale="de_DE")
    legal_form = Organization.LegalForm.GMBH
    industry = Organization.Industry.MANUFACTURING
    country = "DE"
    relationship = Organization.Relationship.CUSTOMER
    owner = factory.SubFactory(UserFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    salutation = Person.Salutation.MS
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    email = factory.Sequence(lambda n: f"person{n}@example.de")
    city = "Berlin"
    owner = factory.SubFactory(UserFactory)


class EmploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employment

    person = factory.SubFactory(PersonFactory)
    organization = factory.SubFactory(OrganizationFactory)
    position = "Einkauf"


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.NOTE
    subject = factory.Sequence(lambda n: f"Notiz {n}")
    person = factory.SubFactory(PersonFactory)
    created_by = factory.SubFactory(UserFactory)
    occurred_at = factory.LazyFunction(timezone.now)


class TaskFactory(ActivityFactory):
    kind = Activity.Kind.TASK
    subject = factory.Sequence(lambda n: f"Aufgabe {n}")
    due_at = factory.LazyFunction(timezone.now)
    assignee = factory.SelfAttribute("created_by")
