"""What a dashboard counts: the filter form every dashboard shares (owner, team, period) and the
set of owners it narrows the figures to. Permissions come first: the querysets a dashboard counts
are always `visible_to(user)`; the filter only narrows them further."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.forms import SafeModelChoiceField
from crm.models import Team


class Period:
    THIS_MONTH = "month"
    LAST_MONTH = "last_month"
    THIS_QUARTER = "quarter"
    THIS_YEAR = "year"
    LAST_12_MONTHS = "12m"
    CHOICES = [
        (THIS_MONTH, _("This month")),
        (LAST_MONTH, _("Last month")),
        (THIS_QUARTER, _("This quarter")),
        (THIS_YEAR, _("This year")),
        (LAST_12_MONTHS, _("Last 12 months")),
    ]
    # The period to offer when one shows no figures: longer, and reaching further back.
    LONGER = {THIS_MONTH: THIS_QUARTER, LAST_MONTH: LAST_12_MONTHS, THIS_QUARTER: THIS_YEAR, THIS_YEAR: LAST_12_MONTHS}


def period_range(key: str, today: date | None = None) -> tuple[date, date]:
    """First and last day (inclusive) of a named period."""
    today = today or timezone.localdate()
    if key == Period.LAST_MONTH:
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if key == Period.THIS_QUARTER:
        first_month = 3 * ((today.month - 1) // 3) + 1
        start = today.replace(month=first_month, day=1)
        next_start = start.replace(year=start.year + 1, month=1) if first_month == 10 else start.replace(month=first_month + 3)
        return start, next_start - timedelta(days=1)
    if key == Period.THIS_YEAR:
        return today.replace(month=1, day=1), today.replace(month=12, day=31)
    if key == Period.LAST_12_MONTHS:
        return today.replace(year=today.year - 1) + timedelta(days=1), today
    start = today.replace(day=1)
    next_start = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, next_start - timedelta(days=1)


class ScopeForm(forms.Form):
    owner = SafeModelChoiceField(label=_("Owner"), queryset=get_user_model().objects.none(), required=False, empty_label=_("All"))
    team = SafeModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All"))
    period = forms.ChoiceField(label=_("Period"), choices=Period.CHOICES, required=False)

    def __init__(self, *args, with_period: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by(
            "first_name", "last_name", "username"
        )
        self.fields["team"].queryset = Team.objects.order_by("name")
        if not with_period:
            del self.fields["period"]


@dataclass(frozen=True)
class Scope:
    """The owners to count (None: everybody the user may see) and the period, if the dashboard has one."""

    owner_ids: frozenset[int] | None
    start: date | None
    end: date | None
    label: str
    team_id: int | None = None
    territory_id: int | None = None
    period: str = ""

    def owned(self, queryset, field: str = "owner"):
        return queryset if self.owner_ids is None else queryset.filter(**{f"{field}_id__in": self.owner_ids})


def scope_from(
    params, *, with_period: bool = True, default_period: str = Period.THIS_MONTH, territories=None, teams=None, owners=None
) -> tuple[ScopeForm, Scope]:
    """The filter form bound to `params` (a QueryDict: request.GET, or a stored snapshot's filter)
    and the scope it selects. `territories`: a queryset of territories to offer as a filter.
    `teams`: a queryset of another app's teams (service teams) offered instead of the organisation's
    teams; the dashboard then narrows its records by `scope.team_id` itself (the team's members do
    not become the owners, and an owner and a team may be chosen together). `owners`: the users to
    offer as owners instead of every active user."""
    form = ScopeForm(params or None, with_period=with_period)
    if owners is not None:
        form.fields["owner"].queryset = owners.order_by("first_name", "last_name", "username")
    if teams is not None:
        form.fields["team"].queryset = teams
    if territories is not None:
        form.fields["territory"] = SafeModelChoiceField(
            label=_("Territory"), queryset=territories, required=False, empty_label=_("All")
        )
    owner = team = territory = None
    period = default_period
    if form.is_valid():
        owner, team = form.cleaned_data["owner"], form.cleaned_data["team"]
        territory = form.cleaned_data.get("territory")
        period = form.cleaned_data.get("period") or default_period
    owner_ids = None
    labels = []
    if owner is not None:
        owner_ids = frozenset({owner.pk})
        labels.append(owner.get_full_name() or owner.username)
    if team is not None and teams is not None:
        labels.append(team.name)
    elif owner is None and team is not None:
        owner_ids = frozenset(team.members.values_list("pk", flat=True)) | ({team.manager_id} - {None})
        labels.append(team.name)
    if territory is not None:
        labels.append(territory.name)
    start = end = None
    if with_period:
        start, end = period_range(period)
        labels.append(dict(Period.CHOICES)[period])
    return form, Scope(
        owner_ids, start, end, " · ".join(str(label) for label in labels),
        team_id=team.pk if team is not None and (owner is None or teams is not None) else None,
        territory_id=territory.pk if territory is not None else None,
        period=period if with_period else "",
    )
