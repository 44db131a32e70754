import pytest

from sales.tests.factories import make_pipeline


@pytest.fixture
def stages(db):
    """Stages by name: Qualifizierung (0, 10 %), Bedarfsanalyse (1, 25 %), Angebot (2, 50 %),
    Verhandlung (3, 75 %), Gewonnen (10), Verloren (11)."""
    return {stage.name: stage for stage in make_pipeline().stages.all()}


@pytest.fixture(autouse=True)
def live_figures(settings):
    """Dashboards compute on every request in tests (test_snapshots.py tests the stored ones)."""
    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 0
    settings.ANALYTICS_SNAPSHOT_STALE_MAX_AGE = 0
