"""JSON bodies, at most DATA_UPLOAD_MAX_MEMORY_SIZE (Django checks it for form posts only)."""

from django.conf import settings
from rest_framework.parsers import JSONParser

from crm.api.exceptions import RequestTooLarge


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if limit and length.isdigit() and int(length) > limit:
            raise RequestTooLarge()
        return super().parse(stream, media_type, parser_context)
