"""schemathesis against the live schema (/api/schema/), in process through the WSGI app: every
operation with generated valid and invalid input, as an administrator (who may do everything,
so no answer is a refusal by role). No answer is a server error, and every answer conforms to
the schema: its status code is documented, and its content type and body are what the schema
says. Bounded (a few examples per operation) so that it runs in CI in well under a minute."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contacts.tests.factories import OrganizationFactory, PersonFactory
from crm.tests.api_client import token_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def admin_token(admin_user):
    return token_for(admin_user)


@pytest.fixture
def wsgi_app():
    """Django's WSGI app, without closing the test's database connection after each request
    (what Django's own test client does likewise)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def generated_schema() -> dict:
    """The schema as /api/schema/ serves it (the same generator), made at collection time, when
    no database is open yet; test_the_schema_is_the_served_one checks that they agree."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(generated_schema())
schema.app = get_wsgi_application()
# Generated examples only: the coverage phase adds dozens of deterministic cases per operation,
# which would take this past a minute in CI.
schema.config.phases.coverage.enabled = False


@pytest.fixture
def records(db):
    # A few records, so that reads and writes of existing ids meet something.
    OrganizationFactory.create_batch(2)
    PersonFactory.create_batch(2)
    from sales.tests.factories import LeadFactory, LineItemFactory

    LeadFactory()
    LineItemFactory()  # a deal in a pipeline with its stages, and a product
    from service.tests.factories import TeamFactory, TicketFactory

    TicketFactory.create_batch(2, team=TeamFactory(name="Support"))
    from marketing.tests.factories import CampaignFactory, ConsentFactory, SegmentFactory

    CampaignFactory().segments.add(SegmentFactory(definition={"postal_code_prefix": "1"}))
    ConsentFactory()
    from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory, AvailabilityFactory

    kind = AppointmentTypeFactory(host_user=AvailabilityFactory().user, min_notice=0)
    AppointmentFactory(appointment_type=kind)
    from membership.tests.factories import MembershipTypeFactory, join

    join(PersonFactory(), membership_type=MembershipTypeFactory(shared_by_household=True))


def test_the_schema_is_the_served_one(client, admin_token):
    served = client.get("/api/schema/?format=json", HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    assert served.status_code == 200
    assert json.loads(served.content) == generated_schema()


@pytest.mark.engine_independent
@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_its_schema_says(case, wsgi_app, records, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
