"""No test depends on the calendar date or the time of day: every test runs on the fixed clock
of conftest.py (FROZEN_AT) unless it is marked `real_clock`, and the tests that once failed in the
first days of a month pass with the machine's date set to the 1st, the 2nd and the 28th
(libfaketime, Debian's `faketime`, moves the whole process, as a CI machine's date would)."""

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import FROZEN_AT

# The tests that count "this month", "this week" or "today" most directly.
DATE_SENSITIVE = [
    "analytics/tests/test_appointments.py",
    "appointments/tests/test_reminders.py",
]


def test_every_test_runs_on_the_fixed_clock():
    assert abs(timezone.now() - FROZEN_AT) < timedelta(minutes=5)


@pytest.mark.real_clock
def test_date_sensitive_tests_pass_on_the_first_second_and_28th(tmp_path):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("runs once, in the SQLite pass (the runs below use SQLite either way)")
    faketime = shutil.which("faketime")
    if faketime is None:
        if os.environ.get("CI"):
            pytest.fail("faketime is missing (apt-get install faketime)")
        pytest.skip("faketime is missing (apt-get install faketime)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_URL", "CELERY_BROKER"))}
    # One SQLite file for the three runs: migrated once, then reused.
    env.update(CRM_VAR_DIR=str(tmp_path), TEST_DATABASE_NAME=str(tmp_path / "test.sqlite3"))
    for day in (1, 2, 28):
        when = date.today().replace(day=day)
        moved = [faketime, f"{when.isoformat()} 00:20:00", sys.executable]
        seen = subprocess.run([*moved, "-c", "import datetime; print(datetime.date.today())"],  # noqa: S603
                              capture_output=True, text=True, timeout=30, check=True)
        assert seen.stdout.strip() == when.isoformat()  # the machine's date really is moved
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [*moved, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "--reuse-db", *DATE_SENSITIVE],
            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=240, check=False,
        )
        assert result.returncode == 0, f"on {when}:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
        assert " passed" in result.stdout
