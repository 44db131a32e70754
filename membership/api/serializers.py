"""The API representation of members and membership types. Joining, changing the type,
resigning and ending go through the same services as the pages (membership.services)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from appointments.api.serializers import SafePrimaryKeyField
from contacts.models import Organization, Person
from crm.api.representation import ModelSerializer
from membership.models import Member, MembershipType


class VisibleField(SafePrimaryKeyField):
    model = None

    def get_queryset(self):
        return self.model.objects.visible_to(self.parent.context["user"])


class PersonField(VisibleField):
    model = Person


class OrganizationField(VisibleField):
    model = Organization


class ActiveMembershipTypeField(SafePrimaryKeyField):
    def get_queryset(self):
        return MembershipType.objects.visible_to(self.parent.context["user"]).active()


class MembershipTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = MembershipType
        fields = ["id", "name", "fee", "fee_period", "shared_by_household", "notice_months", "notice_to", "is_active",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class MemberSerializer(ModelSerializer):
    # Empty while the membership has not ended or been given notice.
    end_reason = serializers.ChoiceField(choices=[("", ""), *Member.EndReason.choices], read_only=True)

    class Meta:
        model = Member
        fields = ["id", "member_number", "person", "organization", "membership_type", "household_of", "status", "applied_on",
                  "start_date", "end_date", "end_reason", "resignation_received_on", "created_at", "updated_at"]
        read_only_fields = fields


class MemberJoinSerializer(serializers.Serializer):
    person = PersonField(required=False, allow_null=True, default=None)
    organization = OrganizationField(required=False, allow_null=True, default=None)
    membership_type = ActiveMembershipTypeField()
    household_of = SafePrimaryKeyField(queryset=Member.objects.all(), required=False, allow_null=True, default=None)
    start_date = serializers.DateField(help_text=_("Start of the membership, or the day of the application."))
    admit = serializers.BooleanField(default=True, help_text=_("False: the member is an applicant (no member number yet)."))

    def validate(self, attrs):
        if (attrs["person"] is None) == (attrs["organization"] is None):
            raise serializers.ValidationError({"person": [_("Choose a person or an organization (one of them).")]})
        return attrs


class MemberChangeTypeSerializer(serializers.Serializer):
    membership_type = ActiveMembershipTypeField()


class MemberAdmitSerializer(serializers.Serializer):
    start_date = serializers.DateField()


class MemberResignSerializer(serializers.Serializer):
    received_on = serializers.DateField()


class MemberEndSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=[Member.EndReason.EXCLUSION.value, Member.EndReason.DEATH.value])
    end_date = serializers.DateField()
