"""Log lines that operators can follow from a request into the Celery tasks it queued.

Every request gets an id: the incoming `X-Request-ID` when it is well-formed (a load balancer or
a client that already set one), a new one otherwise. It is returned in the response's
`X-Request-ID` header, stamped on every log line written while the request runs
(`%(request_id)s`), sent along with every task the request queues (a message header) and stamped
on the worker's log lines while that task runs, also on tasks that task queues in turn.

`LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, request_id,
exception); the default stays a readable line. Both write no email address: anything that looks
like one is replaced by "[email]" in the finished line, whichever logger wrote it (an SMTP
server's reply naming the recipient, a task's return value).
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("crm_request_id", default=None)
# Letters, digits and a few separators, 8 to 128 of them: what load balancers and tracing
# libraries send (UUIDs, hex, "abc-123:1"). Anything else (spaces, quotes, line breaks, a novel) is
# replaced, so a client cannot write into our log lines.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{7,127}")
HEADER = "X-Request-ID"
TASK_HEADER = "crm_request_id"
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
REDACTED = "[email]"
# The probes are asked every few seconds by load balancers: no access line for them.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_logger = logging.getLogger("crm.requests")


def current_request_id() -> str | None:
    return _request_id.get()


def well_formed(value: str | None) -> bool:
    return bool(value) and _WELL_FORMED.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """The outermost middleware: the id is known to every log line of the request, and the
    response carries it whatever answered (a probe, a redirect, an error page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER)
        request.request_id = incoming if well_formed(incoming) else new_request_id()
        token = _request_id.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request.request_id
            if request.path_info not in _QUIET_PATHS:
                access_logger.info(
                    "%s %s %s", request.method, request.path_info, response.status_code,
                    extra={
                        "http_method": request.method,
                        "path": request.path_info,  # never the query string: it may hold search terms
                        "status": response.status_code,
                        "view": getattr(request.resolver_match, "view_name", None),
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record ("-" outside requests and tasks)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            # Django logs "Not Found: ..." after the middleware has returned; it passes the request.
            record.request_id = _request_id.get() or getattr(getattr(record, "request", None), "request_id", None) or "-"
        return True


def redact(text: str) -> str:
    return EMAIL.sub(REDACTED, text)


class ReadableFormatter(logging.Formatter):
    """The default: one readable line, email addresses redacted."""

    def __init__(self, fmt=None, datefmt=None, style="%", **kwargs):
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s", datefmt, style, **kwargs)

    def format(self, record):
        return redact(super().format(record))


# Attributes every LogRecord has; whatever else a record carries was passed as `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "taskName"}


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object per line, for log collectors."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": (request_id if (request_id := getattr(record, "request_id", "-")) != "-" else None)
            or _request_id.get(),
            "process": record.process,
        }
        # Extra fields that are plain values; not objects such as the request django.request
        # passes along, whose text holds the query string.
        entry.update({
            key: value for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_") and isinstance(value, str | int | float | bool | None)
        })
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def logging_config(*, log_format: str, level: str) -> dict:
    """settings.LOGGING for `log_format` ("json" or anything else: readable)."""
    formatter = "json" if log_format == "json" else "readable"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "crm.logs.RequestIdFilter"}},
        "formatters": {
            "readable": {"()": "crm.logs.ReadableFormatter"},
            "json": {"()": "crm.logs.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "axes": {"level": "WARNING"},
            # One line per request: for log collectors; runserver and gunicorn write their own.
            "crm.requests": {"level": "INFO" if formatter == "json" else "WARNING"},
        },
    }


# Celery: the id travels as a message header, and the worker logs through settings.LOGGING.


@before_task_publish.connect(dispatch_uid="crm.logs.carry_request_id")
def _carry_request_id(headers=None, **kwargs):
    request_id = _request_id.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect(dispatch_uid="crm.logs.adopt_request_id")
def _adopt_request_id(task_id=None, task=None, **kwargs):
    if task is None or task.request.is_eager:
        return  # an eager task runs inside the request (or task) that called it, with its id
    carried = getattr(task.request, TASK_HEADER, None)
    _task_tokens[task_id] = _request_id.set(carried if well_formed(carried) else None)


@task_postrun.connect(dispatch_uid="crm.logs.drop_request_id")
def _drop_request_id(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _request_id.reset(token)


@setup_logging.connect(dispatch_uid="crm.logs.worker_logging")
def _worker_logging(**kwargs):
    """Workers and beat log like the web processes (settings.LOGGING, the same format and
    redaction) instead of Celery's own set-up."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
