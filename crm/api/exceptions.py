"""Errors as RFC 9457 problem details (`application/problem+json`): `type` (a link to the
help page's section on the error), `title`, `status`, `detail`, and for invalid input `errors`
(field name -> messages; nested for lists), all in the request's language.

Every exception a view raises on bad input becomes one of these; anything else is a bug and
stays a 500 (logged), answered in the same shape by `server_error`.

This module imports nothing of `rest_framework.views`: building APIView reads the parser setting,
whose parser (crm.api.parsers) raises `RequestTooLarge` from here, so a module-level import of
the views closes a circle whenever this module is the first of DRF to load (a worker, a shell).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: _("Invalid request"),
    401: _("Not authenticated"),
    403: _("Not allowed"),
    404: _("Not found"),
    405: _("Method not allowed"),
    406: _("Not acceptable"),
    409: _("Conflict"),
    412: _("Precondition failed"),
    413: _("Request too large"),
    415: _("Unsupported media type"),
    422: _("Unprocessable request"),
    428: _("Precondition required"),
    429: _("Too many requests"),
    500: _("Server error"),
}
# The help page's section for each kind of problem (crm/help/*/api_docs.md).
SLUGS = {
    400: "invalid-request", 401: "not-authenticated", 403: "not-allowed", 404: "not-found",
    405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 412: "precondition-failed",
    413: "request-too-large", 415: "unsupported-media-type", 422: "unprocessable", 428: "precondition-required",
    429: "too-many-requests", 500: "server-error",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state of the record.")
    default_code = "conflict"

    def __init__(self, detail=None, *, extra: dict | None = None):
        super().__init__(detail)
        self.extra = extra or {}


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "The record changed since you read it (its ETag no longer matches If-Match). Read it again and repeat the change."
    )
    default_code = "precondition_failed"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request is too large.")
    default_code = "too_large"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("The request cannot be processed.")
    default_code = "unprocessable"

    def __init__(self, detail=None, *, extra: dict | None = None):
        super().__init__(detail)
        self.extra = extra or {}


def problem_type(status_code: int) -> str:
    return f"{reverse('help_detail', args=['api_docs'])}#{SLUGS.get(status_code, 'invalid-request')}"


def problem(status_code: int, detail, *, errors=None, extra: dict | None = None) -> dict:
    body = {
        "type": problem_type(status_code),
        "title": str(TITLES.get(status_code, _("Error"))),
        "status": status_code,
        "detail": str(detail),
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    return body


def plain_errors(detail):
    """DRF's ErrorDetail tree as plain strings."""
    if isinstance(detail, dict):
        return {str(key): plain_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [plain_errors(item) for item in detail]
    return str(detail)


def _translate(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, (ProtectedError, RestrictedError)):
        # A record others still point at (a product on a deal's line items, an organization with deals).
        return Conflict(_("Other records still refer to this one, so it cannot be deleted."))
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(getattr(exc, "message_dict", None) or {"non_field_errors": exc.messages})
    return exc


def problem_exception_handler(exc, context):
    from rest_framework.views import exception_handler  # not at import time: see the module docstring

    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = response.status_code
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        detail = _("Some fields are invalid; see “errors”.")
        errors = plain_errors(exc.detail)
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
    elif isinstance(exc.detail, (dict, list)):
        detail = _("The request cannot be processed.")
        errors = plain_errors(exc.detail)
    else:
        detail = exc.detail
    headers = {key: value for key, value in response.items() if key in ("WWW-Authenticate", "Retry-After", "Allow")}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    return Response(
        problem(code, detail, errors=errors, extra=getattr(exc, "extra", None)),
        status=code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def problem_response(request, status_code: int, detail) -> JsonResponse:
    """A problem answer outside DRF's views (an unknown URL under /api/, a server error)."""
    return JsonResponse(problem(status_code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/") and not request.path.startswith("/api/docs")
