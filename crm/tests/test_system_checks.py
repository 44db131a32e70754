"""`migrate` and `check` stay quiet on SQLite about the ticket queue's covering indexes, which only
Postgres can build; on Postgres nothing is silenced."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

# Each test starts its own processes on both engines: once, in the Postgres pass, is enough.
pytestmark = pytest.mark.engine_independent


def _run(*args: str, database_url: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DATABASE_URL": database_url,
           "CRM_VAR_DIR": str(tmp_path), "DEBUG": "1"}
    return subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, *args], cwd=Path(settings.BASE_DIR), env=env, capture_output=True, text=True, timeout=120,
    )


def test_sqlite_check_prints_no_w040(tmp_path):
    result = _run("manage.py", "check", "--database", "default", database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}",
                  tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "W040" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_warning_is_silenced_only_for_sqlite(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.SILENCED_SYSTEM_CHECKS)"
    sqlite = _run("-c", code, database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path=tmp_path)
    postgres = _run("-c", code, database_url="postgres://crm@127.0.0.1:5432/crm", tmp_path=tmp_path)
    assert sqlite.stdout.strip() == "['models.W040']", sqlite.stderr
    assert postgres.stdout.strip() == "[]", postgres.stderr
