import pytest

from conftest import make_user
from crm.roles import Role
from service.tests.factories import AgentProfileFactory, CategoryFactory, TeamFactory


@pytest.fixture
def support(db):
    """Team "Support DACH" led by `lead`, with agents anna (German, Billing) and ben (German, English)."""
    lead = make_user("lena", Role.SUPPORT_LEAD, first_name="Lena", last_name="Lehmann", email="lena@example.com")
    anna = make_user("anna", Role.SUPPORT_AGENT, first_name="Anna", last_name="Berger", email="anna@example.com")
    ben = make_user("ben", Role.SUPPORT_AGENT, first_name="Ben", last_name="Kraus", email="ben@example.com")
    outsider = make_user("otto", Role.SUPPORT_AGENT, first_name="Otto", last_name="Fremd")
    team = TeamFactory(name="Support DACH", lead=lead, channels=["email", "portal"])
    team.agents.add(anna, ben)
    other_team = TeamFactory(name="Support Export")
    other_team.agents.add(outsider)
    billing = CategoryFactory(name="Rechnung", team=team)
    tech = CategoryFactory(name="Technik", team=team)
    anna_profile = AgentProfileFactory(user=anna, languages=["de"])
    anna_profile.categories.add(billing)
    ben_profile = AgentProfileFactory(user=ben, languages=["de", "en"])
    ben_profile.categories.add(tech)
    return {"lead": lead, "anna": anna, "ben": ben, "outsider": outsider, "team": team, "other_team": other_team,
            "billing": billing, "tech": tech}
