"""The API's own endpoints: the change feed, and the interactive documentation."""

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response

from crm.api.serializers import ChangeEventSerializer, change_entries
from crm.breadcrumbs import crumb
from crm.models import ChangeEvent


class ChangeFeedPageSerializer(serializers.Serializer):
    results = ChangeEventSerializer(many=True)
    since = serializers.IntegerField(help_text="The id of the last entry of this page: the next `since`.")
    more = serializers.BooleanField(help_text="Whether more entries are waiting right now.")
    next = serializers.URLField(help_text="This list from `since` on.")


class ChangeFeedView(generics.GenericAPIView):
    """Creates, updates, deletes and merges of people, organizations, leads, deals and tickets, oldest first.

    Start without `since`, then pass the `id` of the last entry you processed as `since` (or follow
    `next`): nothing is missed, a merged record names its survivor (`survivor_id`), and an erasure
    is a deletion (`reason`: "erased") without any personal data. Only what you may see is listed.
    A change of what the API shows with a record (a person's employments and tags, an
    organization's addresses) is an update of the record; a converted lead is an update with
    `reason` "converted" (the person, organization and deal it became appear as created).
    """

    serializer_class = ChangeEventSerializer
    queryset = ChangeEvent.objects.none()
    pagination_class = None
    page_size_max = 1000

    @extend_schema(
        responses=ChangeFeedPageSerializer,
        parameters=[
            OpenApiParameter("since", OpenApiTypes.INT, description=gettext_lazy("The id of the last entry you have; entries after it.")),
            OpenApiParameter("limit", OpenApiTypes.INT, description=gettext_lazy("Entries per page (at most 1,000).")),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=["person", "organization", "lead", "deal", "ticket"]),
        ],
    )
    def get(self, request, *args, **kwargs):
        since = self._int("since", 0, maximum=2**63 - 1)
        limit = self._int("limit", 500, minimum=1, maximum=self.page_size_max)
        events = ChangeEvent.objects.visible_to(request.user).filter(pk__gt=since).order_by("pk")
        kind = request.query_params.get("kind")
        if kind:
            events = events.filter(kind=kind)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The visibility rules of five kinds make a plan Postgres estimates as costly, so
                # it compiles it (JIT): 5.7 s of compiling for a page that reads in 1 ms.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            rows = list(events[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1].pk if rows else since
        query = request.query_params.copy()
        query["since"] = str(last)
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({
            "results": change_entries(rows, request),
            "since": last,
            "more": more,
            "next": next_url,
        })

    def _int(self, name: str, default: int, *, minimum: int = 0, maximum: int) -> int:
        raw = self.request.query_params.get(name, "")
        if raw == "":
            return default
        if not raw.isdigit() or not minimum <= int(raw) <= maximum:
            raise exceptions.ValidationError({name: [_("Give a whole number from %(minimum)s to %(maximum)s.") % {
                "minimum": minimum, "maximum": maximum}]})
        return int(raw)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI inside the CRM's page frame (breadcrumbs, search, help), its files from our own
    static files (drf-spectacular-sidecar) and its start script a file of its own, so that the
    Content-Security-Policy needs no exception (crm/templates: crm/api_docs.html)."""

    template_name = "crm/api_docs.html"
    url_name = "api_schema"
    title = gettext_lazy("API documentation")

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if isinstance(response.data, dict) and request.GET.get("script") is None:
            response.data["breadcrumbs"] = [crumb(_("API documentation"))]
        return response
