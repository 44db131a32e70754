"""Absolute links for emails and calendar files: the CRM's public address (CRM_BASE_URL) + a path."""

from django.conf import settings


def absolute_url(path: str) -> str:
    return settings.CRM_BASE_URL.rstrip("/") + path
