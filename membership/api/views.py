"""Members and membership types over the API: the same querysets, FilterSets and services as
the pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency).

As on the pages, only the membership roles (admin, membership manager) use this part: the other
roles get 403 (404 for a member's URL, whose record they may not see). Members are ended, not
deleted; types are retired (`is_active`), not deleted."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.idempotency import idempotent
from crm.api.viewsets import PageRulesMixin, RecordViewSet
from crm.roles import MEMBERSHIP_ROLES
from membership import services
from membership.api import serializers
from membership.filters import MemberFilter, MembershipTypeFilter
from membership.models import Member, MembershipType


def _api_error(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError({field: [str(m) for e in errors for m in e.messages] for field, errors in error.error_dict.items()})
    return exceptions.ValidationError({"non_field_errors": [str(m) for m in error.messages]})


@extend_schema_view(
    list=extend_schema(description="Members, filtered like the member list (`q`: member number or name)."),
    create=extend_schema(
        request=serializers.MemberJoinSerializer, responses={201: serializers.MemberSerializer},
        description="A person or organization joins (`admit`: at once, with the next member number) or applies.",
    ),
    partial_update=extend_schema(
        request=serializers.MemberChangeTypeSerializer, responses={200: serializers.MemberSerializer},
        description="Change the membership type (the household moves with it).",
    ),
)
class MemberViewSet(PageRulesMixin, RecordViewSet):
    model = Member
    allowed_roles = MEMBERSHIP_ROLES
    serializer_class = serializers.MemberSerializer
    filterset_class = MemberFilter
    http_method_names = ["get", "post", "patch", "head", "options"]  # ended, not deleted
    ordering_fields = {"number": ("member_number",), "start": ("start_date",), "updated": ("updated_at",)}
    default_ordering = "number"

    def _run(self, serializer_class, act, *, created=False):
        if self.kwargs.get("pk") is not None:
            self.get_object()  # 404 for a member the user may not see, before the body is read
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                member = act(serializer.validated_data)
        except DjangoValidationError as error:
            raise _api_error(error) from None
        member = self.reloaded(member)
        headers = {"ETag": self.etag(member)}
        if created:
            headers["Location"] = self.detail_url(member)
        return Response(self.get_serializer(member).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers=headers)

    @idempotent
    def create(self, request, *args, **kwargs):
        return self._run(serializers.MemberJoinSerializer, lambda d: services.member_join(
            person=d["person"], organization=d["organization"], membership_type=d["membership_type"], start_date=d["start_date"],
            household_of=d["household_of"], admit=d["admit"], by=request.user,
        ), created=True)

    def partial_update(self, request, *args, **kwargs):
        return self._run(serializers.MemberChangeTypeSerializer, lambda d: services.member_change_type(
            member=self.editable_object(), membership_type=d["membership_type"], by=request.user))

    @extend_schema(request=serializers.MemberAdmitSerializer, responses={200: serializers.MemberSerializer},
                   description="Admit an applicant: the next member number is given.")
    @action(detail=True, methods=["post"])
    def admit(self, request, pk=None):
        return self._run(serializers.MemberAdmitSerializer, lambda d: services.member_admit(
            member=self.editable_object(), start_date=d["start_date"], by=request.user))

    @extend_schema(request=serializers.MemberResignSerializer, responses={200: serializers.MemberSerializer},
                   description="Record a resignation: the end date follows from the type's notice period.")
    @action(detail=True, methods=["post"])
    def resign(self, request, pk=None):
        return self._run(serializers.MemberResignSerializer, lambda d: services.member_resign(
            member=self.editable_object(), received_on=d["received_on"], by=request.user))

    @extend_schema(request=serializers.MemberEndSerializer, responses={200: serializers.MemberSerializer},
                   description="End the membership for another reason (exclusion, death).")
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._run(serializers.MemberEndSerializer, lambda d: services.member_end(
            member=self.editable_object(), reason=d["reason"], end_date=d["end_date"], by=request.user))


class MembershipTypeViewSet(PageRulesMixin, RecordViewSet):
    """Membership types: read, create and change as the type pages do."""

    model = MembershipType
    allowed_roles = MEMBERSHIP_ROLES
    serializer_class = serializers.MembershipTypeSerializer
    filterset_class = MembershipTypeFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    read_budget = False  # no personal data
    ordering_fields = {"name": ("name",), "fee": ("fee", "name")}
    default_ordering = "name"
