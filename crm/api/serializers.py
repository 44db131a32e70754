from django.urls import NoReverseMatch, reverse
from rest_framework import serializers

from crm.models import ChangeEvent


class ChangeEventSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The record's API address (null once it is gone).")

    class Meta:
        model = ChangeEvent
        fields = ["id", "kind", "object_id", "action", "survivor_id", "reason", "occurred_at", "url"]

    def get_url(self, event) -> str | None:
        if event.action in ChangeEvent.GONE:
            return None
        try:
            path = reverse(f"api:{event.kind}-detail", args=[event.object_id])
        except NoReverseMatch:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def change_entries(events, request) -> list[dict]:
    """A page of the feed as ChangeEventSerializer shows it, built directly: a sync client reads
    pages of 1,000, and a serializer's field machinery per entry costs more than the query. The
    record addresses come from one reversed URL per kind."""
    occurred_at = ChangeEventSerializer().fields["occurred_at"]
    marker = 987654321987654321
    templates: dict[str, str | None] = {}
    entries = []
    for event in events:
        url = None
        if event.action not in ChangeEvent.GONE:
            if event.kind not in templates:
                try:
                    path = reverse(f"api:{event.kind}-detail", args=[marker])
                    templates[event.kind] = request.build_absolute_uri(path) if request is not None else path
                except NoReverseMatch:
                    templates[event.kind] = None
            template = templates[event.kind]
            url = template.replace(str(marker), str(event.object_id)) if template else None
        entries.append({
            "id": event.pk, "kind": event.kind, "object_id": event.object_id, "action": event.action,
            "survivor_id": event.survivor_id, "reason": event.reason,
            "occurred_at": occurred_at.to_representation(event.occurred_at), "url": url,
        })
    return entries
