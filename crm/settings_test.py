"""Test settings: the production settings with fast hashing, eager Celery and local email.

The one test that runs a real Celery worker on Redis switches eagerness off itself.
"""

import atexit
import os
import shutil
import tempfile

# Each test process counts its metrics in a directory of its own (crm.metrics), emptied when it
# ends; a gunicorn the tests start shares one between its workers (CRM_TEST_PROMETHEUS_DIR). Set
# before crm.settings, which would otherwise point every process at var/prometheus.
if os.environ.get("CRM_TEST_PROMETHEUS_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["CRM_TEST_PROMETHEUS_DIR"]
else:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"crm-test-metrics-{os.getpid()}-")
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)

from crm.settings import *  # noqa: E402,F401,F403
from crm.settings import CACHES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = False
DEBUG = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Tests assert on the English source strings; test_login.py checks that German is the default.
LANGUAGE_CODE = "en"
# With REDIS_URL the test processes (xdist workers, runs one after the other) share one Redis
# database: each process has its own key prefix, and conftest.py empties it before every test. A
# server the tests start (gunicorn) is given one prefix for all its workers by CACHE_KEY_PREFIX.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX") or f"test-{os.getpid()}"
