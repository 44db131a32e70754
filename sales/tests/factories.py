from decimal import Decimal

import factory
from django.utils import timezone

from contacts.tests.factories import OrganizationFactory
from crm.tests.factories import UserFactory
from sales.models import Deal, Lead, LineItem, Pipeline, Product, Stage, Territory, TerritoryRule


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline
        django_get_or_create = ("name",)

    name = "Neugeschäft"
    stale_after_days = 14


def make_pipeline(name: str = "Neugeschäft") -> Pipeline:
    """A pipeline with four open stages and a won and a lost stage."""
    pipeline = PipelineFactory(name=name)
    if not pipeline.stages.exists():
        for order, (stage_name, probability) in enumerate(
            [("Qualifizierung", 10), ("Bedarfsanalyse", 25), ("Angebot", 50), ("Verhandlung", 75)]
        ):
            Stage.objects.create(pipeline=pipeline, name=stage_name, order=order, probability=probability)
        Stage.objects.create(pipeline=pipeline, name="Gewonnen", order=10, probability=100, is_won=True)
        Stage.objects.create(pipeline=pipeline, name="Verloren", order=11, probability=0, is_lost=True)
    return pipeline


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Rahmenvertrag {n}")
    pipeline = factory.LazyFunction(make_pipeline)
    stage = factory.LazyAttribute(lambda d: d.pipeline.stages.order_by("order").first())
    organization = factory.SubFactory(OrganizationFactory, owner=factory.SelfAttribute("..owner"))
    owner = factory.SubFactory(UserFactory)
    amount = Decimal("10000.00")
    probability = factory.LazyAttribute(lambda d: d.stage.probability)
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + timezone.timedelta(days=30))


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    email = factory.Sequence(lambda n: f"lead{n}@example.de")
    company = factory.Faker("company", locale="de_DE")
    source = Lead.Source.WEBSITE
    owner = factory.SubFactory(UserFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Wartungsvertrag {n}")
    sku = factory.Sequence(lambda n: f"WV-{n:05d}")
    unit_price = Decimal("1200.00")


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineItem

    deal = factory.SubFactory(DealFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal("2")
    unit_price = Decimal("1200.00")


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory

    name = factory.Sequence(lambda n: f"Gebiet {n}")


class TerritoryRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TerritoryRule

    territory = factory.SubFactory(TerritoryFactory)
    country = "DE"
