"""Colleagues over the API (read only): the CRM's users and teams, with what the pages show of
a colleague (name, email, roles, teams) and nothing more (no login data, no permissions).
Every CRM role reads them; they are managed in the administration."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.representation import ModelSerializer
from crm.api.viewsets import RecordViewSet
from crm.models import Team
from crm.roles import ALL_ROLES, Role

User = get_user_model()


def colleagues():
    """Active users with a CRM role (superusers are admins), roles and teams prefetched."""
    from django.contrib.auth.models import Group

    roles = Prefetch("groups", queryset=Group.objects.filter(name__in=ALL_ROLES).order_by("name"), to_attr="crm_groups")
    return (
        User.objects.filter(Q(groups__name__in=ALL_ROLES) | Q(is_superuser=True), is_active=True).distinct()
        .prefetch_related(roles, Prefetch("teams", queryset=Team.objects.order_by("name").only("pk", "name")))
    )


class UserSerializer(ModelSerializer):
    full_name = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField(help_text="The ids of the teams the user belongs to.")

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "full_name", "email", "roles", "teams"]
        read_only_fields = fields

    def get_full_name(self, user) -> str:
        return user.get_full_name() or user.get_username()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Role.choices)))
    def get_roles(self, user) -> list[str]:
        roles = [group.name for group in user.crm_groups]
        return roles if not user.is_superuser or Role.ADMIN in roles else sorted([*roles, Role.ADMIN.value])

    def get_teams(self, user) -> list[int]:
        return [team.pk for team in user.teams.all()]


class TeamSerializer(ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "manager", "members"]
        read_only_fields = fields


class UserViewSet(RecordViewSet):
    """The CRM's users: every CRM role reads its colleagues."""

    model = User
    serializer_class = UserSerializer
    http_method_names = ["get", "head", "options"]
    read_budget = False  # colleagues, not customer data
    ordering_fields = {"name": ("last_name", "first_name"), "username": ("username",)}
    default_ordering = "name"

    def base_queryset(self):
        return colleagues()


class TeamViewSet(RecordViewSet):
    """Teams with their manager and members: every CRM role reads them."""

    model = Team
    serializer_class = TeamSerializer
    http_method_names = ["get", "head", "options"]
    read_budget = False
    ordering_fields = {"name": ("name",)}
    default_ordering = "name"

    def base_queryset(self):
        return Team.objects.prefetch_related("members")
