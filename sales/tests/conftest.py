import pytest

from sales.tests.factories import make_pipeline


@pytest.fixture
def pipeline(db):
    return make_pipeline()


@pytest.fixture
def stages(pipeline):
    """Stages by name: Qualifizierung, Bedarfsanalyse, Angebot, Verhandlung, Gewonnen, Verloren."""
    return {stage.name: stage for stage in pipeline.stages.all()}
