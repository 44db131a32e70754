"""The error answers in the OpenAPI schema: every operation documents the RFC 9457 problem
details it may answer with (crm.api.exceptions), so that a client, and schemathesis, know them.
A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""

from crm.api.exceptions import PROBLEM_CONTENT_TYPE

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details, in the request's language.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A link to the help page's section on this error."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object", "additionalProperties": True,
            "description": "Field errors: a list of messages per field (for nested rows, per row).",
        },
    },
    # 409 names the similar records ("similar"), a batch's 422 every record's result ("results").
    "additionalProperties": True,
}

DESCRIPTIONS = {
    "400": "Invalid request: see “errors”.",
    "401": "Not authenticated: no token, an unknown, revoked or expired one.",
    "403": "Not allowed: the role, the token's scope, or a record you may see but not change.",
    "404": "No such record, or not one you may see.",
    "409": "Similar records exist (send “confirm_new”: true), or an Idempotency-Key in use.",
    "412": "The record changed since you read it (If-Match).",
    "413": "Too large: the body, or more records than a batch takes.",
    "415": "Send JSON (Content-Type: application/json).",
    "422": "An atomic batch with errors: nothing was stored.",
    "429": "Too many requests, or the read budget of a role without the export permission: see Retry-After.",
}
READ = ("400", "401", "403", "404", "429")
WRITE = ("400", "401", "403", "404", "409", "412", "413", "415", "422", "429")
BY_METHOD = {"get": READ, "head": READ, "post": WRITE, "put": WRITE, "patch": WRITE,
             "delete": ("401", "403", "404", "409", "412", "429")}


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    reference = {"$ref": "#/components/schemas/Problem"}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            for status in BY_METHOD.get(method, ()):
                responses.setdefault(status, {
                    "description": DESCRIPTIONS[status],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": reference}},
                })
            if method in ("get", "head") and "{id}" in next(p for p, v in result["paths"].items() if v is path):
                responses.setdefault("304", {"description": "Not modified (If-None-Match)."})
    return result
