"""What membership stores about a contacts person, for the data-protection export and erasure
(crm.privacy).

Export: each membership of the person (number, type, household, status, dates, end reason) with
its steps (the status history).

Erasure: the person's memberships, their steps and their change history are deleted. The member
number stays used (the counter never goes back), so no other member gets it later; members of the
person's household keep their own membership, without the household link.
"""

from crm.privacy import classify, plain
from membership.models import Member, MemberEvent, MemberNumberCounter, MembershipType

classify(
    MembershipType,
    not_personal="name fee fee_period shared_by_household notice_months notice_to is_active created_at updated_at",
)
classify(MemberNumberCounter, not_personal="last")
classify(
    Member,
    personal="member_number status applied_on start_date end_date end_reason resignation_received_on",
    derived="search_key",
    # Links to other records (the type, the household's member): exported by name, gone with the row.
    not_personal="person organization membership_type household_of created_by created_at updated_at",
)
classify(MemberEvent, personal="kind status effective_on detail", not_personal="member occurred_at by")


def export_person(person) -> list[dict]:
    members = (
        Member.objects.filter(person=person)
        .select_related("membership_type", "household_of__person")
        .prefetch_related("events")
        .order_by("pk")
    )
    return [
        {
            "type": "membership",
            "member_number": member.member_number,
            "membership_type": member.membership_type.name,
            "household_of": str(member.household_of) if member.household_of else None,
            "status": member.status,
            "applied_on": plain(member.applied_on),
            "start_date": plain(member.start_date),
            "end_date": plain(member.end_date),
            "end_reason": member.end_reason,
            "resignation_received_on": plain(member.resignation_received_on),
            "steps": [
                {"kind": event.kind, "status": event.status, "effective_on": plain(event.effective_on),
                 "detail": event.detail, "recorded_at": plain(event.occurred_at)}
                for event in sorted(member.events.all(), key=lambda e: (e.occurred_at, e.pk))
            ],
        }
        for member in members
    ]


def erase_person(person) -> int:
    ids = list(Member.objects.filter(person=person).values_list("pk", flat=True))
    if not ids:
        return 0
    Member.objects.filter(household_of_id__in=ids).exclude(pk__in=ids).update(household_of=None)
    MemberEvent.objects.filter(member_id__in=ids).delete()
    Member.objects.filter(pk__in=ids, household_of_id__in=ids).update(household_of=None)
    deleted, _ = Member.objects.filter(pk__in=ids).delete()
    # Last: the history rows (the deletion's own included) still hold number, type and dates.
    Member.history.filter(id__in=ids).delete()
    return deleted
