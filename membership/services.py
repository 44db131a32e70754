"""Membership workflows: apply, join (admit), change type, resign, end. Each writes the step as a
MemberEvent (the status history, shown on the member's page and on the person's or
organization's timeline) in the same transaction as the change."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membership.models import Member, MemberEvent, MemberNumberCounter, MembershipType

COUNTER_ID = 1


def next_member_number() -> str:
    """The next member number, counted on one locked row: two joins at once wait for each other,
    and a number once given is never given again (the counter only goes up). Call inside a
    transaction."""
    counter = MemberNumberCounter.objects.select_for_update().filter(pk=COUNTER_ID).first()
    if counter is None:
        try:
            with transaction.atomic():
                MemberNumberCounter.objects.create(pk=COUNTER_ID, last=0)
        except IntegrityError:
            pass  # made by a join at the same moment
        counter = MemberNumberCounter.objects.select_for_update().get(pk=COUNTER_ID)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{settings.CRM_MEMBER_NUMBER_PREFIX}{counter.last:05d}"


def _record(member: Member, kind: str, *, effective_on: date, by, detail: str = "") -> MemberEvent:
    return MemberEvent.objects.create(member=member, kind=kind, status=member.status, effective_on=effective_on, detail=detail, by=by)


def _check_household(*, household_of: Member | None, membership_type: MembershipType, person) -> None:
    if household_of is None:
        return
    if person is None:
        raise ValidationError({"household_of": _("Only people belong to a household.")})
    if household_of.household_of_id or household_of.status == Member.Status.ENDED:
        raise ValidationError({"household_of": _("Choose the member who holds the household membership.")})
    if not household_of.membership_type.shared_by_household:
        raise ValidationError({"household_of": _("That member's membership type is not shared by households.")})
    if membership_type.pk != household_of.membership_type_id:
        raise ValidationError({"membership_type": _("A household shares one membership type: choose “%(type)s”.")
                               % {"type": household_of.membership_type.name}})


@transaction.atomic
def member_join(*, membership_type: MembershipType, start_date: date, by, person=None, organization=None,
                household_of: Member | None = None, admit: bool = True) -> Member:
    """A person or organization becomes a member (admit=True: at once, with a member number;
    admit=False: as an applicant, admitted later with `member_admit`)."""
    if (person is None) == (organization is None):
        raise ValidationError(_("A member is either a person or an organization."))
    if not membership_type.is_active:
        raise ValidationError({"membership_type": _("This membership type is no longer offered.")})
    subject = {"person": person} if person is not None else {"organization": organization}
    if Member.objects.filter(**subject).exclude(status=Member.Status.ENDED).exists():
        field = "person" if person is not None else "organization"
        raise ValidationError({field: _("%(name)s already is a member or applicant.") % {"name": person or organization}})
    _check_household(household_of=household_of, membership_type=membership_type, person=person)
    member = Member(membership_type=membership_type, household_of=household_of, created_by=by, applied_on=timezone.localdate(), **subject)
    if admit:
        member.status, member.start_date, member.member_number = Member.Status.ACTIVE, start_date, next_member_number()
    else:
        member.applied_on = start_date
    member.save()
    if admit:
        _record(member, MemberEvent.Kind.JOINED, effective_on=start_date, by=by, detail=membership_type.name)
    else:
        _record(member, MemberEvent.Kind.APPLIED, effective_on=start_date, by=by, detail=membership_type.name)
    return member


@transaction.atomic
def member_admit(*, member: Member, start_date: date, by) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.status != Member.Status.APPLICANT:
        raise ValidationError(_("Only an applicant can be admitted."))
    member.status, member.start_date, member.member_number = Member.Status.ACTIVE, start_date, next_member_number()
    member.save()
    _record(member, MemberEvent.Kind.JOINED, effective_on=start_date, by=by, detail=member.membership_type.name)
    return member


@transaction.atomic
def member_change_type(*, member: Member, membership_type: MembershipType, by, effective_on: date | None = None) -> Member:
    member = Member.objects.select_for_update().select_related("membership_type").get(pk=member.pk)
    if member.status == Member.Status.ENDED:
        raise ValidationError(_("The membership has ended."))
    if membership_type.pk == member.membership_type_id:
        raise ValidationError({"membership_type": _("The member already has this membership type.")})
    if not membership_type.is_active:
        raise ValidationError({"membership_type": _("This membership type is no longer offered.")})
    if member.household_of_id:
        raise ValidationError({"membership_type": _("A household member has the type of the household's membership.")})
    if not membership_type.shared_by_household and member.household_members.exclude(status=Member.Status.ENDED).exists():
        raise ValidationError({"membership_type": _("Others share this membership: choose a type that households share.")})
    old = member.membership_type.name
    member.membership_type = membership_type
    member.save()
    # The household moves with its membership.
    for shared in member.household_members.exclude(status=Member.Status.ENDED):
        shared.membership_type = membership_type
        shared.save()
    _record(member, MemberEvent.Kind.TYPE_CHANGED, effective_on=effective_on or timezone.localdate(), by=by,
            detail=f"{old} → {membership_type.name}")
    return member


def _end_now_if_due(member: Member, today: date) -> None:
    if member.end_date is not None and member.end_date < today:
        member.status = Member.Status.ENDED


@transaction.atomic
def member_resign(*, member: Member, received_on: date, by) -> Member:
    """A resignation: the membership ends after the type's notice period, at the end of the
    month, quarter or year it names (MembershipType.resignation_end_date)."""
    member = Member.objects.select_for_update().select_related("membership_type").get(pk=member.pk)
    if member.status == Member.Status.ENDED:
        raise ValidationError(_("The membership has ended."))
    if member.status == Member.Status.APPLICANT:
        raise ValidationError(_("An applicant is not a member yet: end the application instead."))
    if member.start_date and received_on < member.start_date:
        raise ValidationError({"received_on": _("The resignation cannot be received before the membership started.")})
    member.resignation_received_on = received_on
    member.end_date = member.membership_type.resignation_end_date(received_on)
    member.end_reason = Member.EndReason.RESIGNATION
    _end_now_if_due(member, timezone.localdate())
    member.save()
    _record(member, MemberEvent.Kind.RESIGNED, effective_on=member.end_date, by=by,
            detail=_("received on %(date)s") % {"date": received_on.strftime("%d.%m.%Y")})
    return member


@transaction.atomic
def member_end(*, member: Member, reason: str, end_date: date, by) -> Member:
    """The membership ends for another reason than a resignation (exclusion, death), or an
    application is turned down; it ends on `end_date`, without notice."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.status == Member.Status.ENDED:
        raise ValidationError(_("The membership has ended."))
    if reason not in Member.EndReason.values or reason == Member.EndReason.RESIGNATION:
        raise ValidationError({"reason": _("Choose exclusion or death; a resignation has its own form.")})
    if member.start_date and end_date < member.start_date:
        raise ValidationError({"end_date": _("The membership cannot end before it started.")})
    member.end_date, member.end_reason = end_date, reason
    if member.status == Member.Status.APPLICANT or end_date <= timezone.localdate():
        member.status = Member.Status.ENDED
        if member.start_date is None:
            member.end_date = None  # an application that never became a membership has no end of membership
    member.save()
    _record(member, MemberEvent.Kind.ENDED, effective_on=end_date, by=by, detail=Member.EndReason(reason).label)
    return member


def members_end_due(*, today: date | None = None) -> int:
    """Members whose end date has passed become ended (run by the scheduler); each in its own
    transaction, so a run that stops half way loses nothing."""
    today = today or timezone.localdate()
    ended = 0
    for pk in Member.objects.due_to_end(today).values_list("pk", flat=True):
        with transaction.atomic():
            member = Member.objects.select_for_update().filter(pk=pk, status=Member.Status.ACTIVE, end_date__lt=today).first()
            if member is None:
                continue
            member.status = Member.Status.ENDED
            member.save()
            _record(member, MemberEvent.Kind.ENDED, effective_on=member.end_date, by=None, detail=member.get_end_reason_display())
            ended += 1
    return ended
