import pytest

from crm.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _marketing_settings(settings):
    settings.MARKETING_SEND_RATE = 0
    settings.CRM_BASE_URL = "http://testserver"


@pytest.fixture
def marketer(db):
    from conftest import make_user
    from crm.roles import Role

    return make_user("marketer", Role.MARKETING, email="marketer@example.de", first_name="Mara", last_name="Markt")


@pytest.fixture
def user_factory():
    return UserFactory
