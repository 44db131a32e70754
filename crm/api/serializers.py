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
