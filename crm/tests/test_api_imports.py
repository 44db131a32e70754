"""The API's modules import in any order outside a request (a Celery worker building a webhook
payload, a shell): no module of crm.api may need DRF's views to be loaded first."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

FIRST_IMPORTS = [
    "crm.api.exceptions",
    "crm.api.parsers",
    "crm.api.pagination",
    "contacts.api.serializers",
    "sales.api.serializers",
    "service.api.serializers",
    "marketing.api.serializers",
    "appointments.api.serializers",
]


@pytest.mark.engine_independent  # import order does not depend on the database
@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_it_imports_first_in_a_fresh_process(module):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings_test"}
    code = f"import django; django.setup(); import {module}; import rest_framework.views; print('imported')"
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "imported"
