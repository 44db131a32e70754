"""Duplicate people and organizations: finding them (on entry, on import, on the duplicates
page) and merging two records into one.

Finding never compares every pair of rows. It groups by indexed columns (`email`,
`email_secondary`, `name_key`) and joins through `Employment`; on Postgres it adds trigram
similarity only where the candidate set is already small (one organization's people, or
the organizations whose search key shares trigrams with one name).

Merging moves every row that points at the merged record, found generically through the
model's reverse relations, so relations that other apps add later (deals, tickets, ...)
move too without touching this module.
"""

import copy
import json
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalChanges

from contacts.dedupe import organization_name_key, person_name_key
from contacts.models import Activity, Employment, MergeRecord, Organization, Person
from crm import changefeed, customfields

SIMILAR_PERSON_NAME = 0.6
SIMILAR_ORGANIZATION_NAME = 0.7
# Trigram similarity is computed over the people of the given organizations only while they
# employ at most this many people together; beyond that only equal names count.
SIMILARITY_MAX_PEOPLE = 500
GROUP_PAGE_SIZE = 25
# A group (say, 300 people sharing info@firma.de) shows at most this many of its records.
GROUP_MEMBER_LIMIT = 10
KEEP_SURVIVOR = "survivor"
TAKE_OTHER = "other"


class Reason(models.TextChoices):
    SAME_EMAIL = "same_email", gettext_lazy("Same email address")
    SAME_NAME_AT_ORGANIZATION = "same_name_at_organization", gettext_lazy("Same name at the same organization")
    SIMILAR_NAME_AT_ORGANIZATION = "similar_name_at_organization", gettext_lazy("Similar name at the same organization")
    SAME_ORGANIZATION_NAME = "same_organization_name", gettext_lazy("Same name (ignoring legal form)")
    SIMILAR_ORGANIZATION_NAME = "similar_organization_name", gettext_lazy("Similar name")


@dataclass(frozen=True)
class Candidate:
    """A record that may be the same as the one being entered, and why."""

    record: models.Model
    reason: str
    similarity: float | None = None

    @property
    def reason_label(self) -> str:
        return Reason(self.reason).label


# --- checking one record on entry or import -------------------------------------------------


def _base(model, user, exclude_pk):
    qs = model.objects.all() if user is None else model.objects.visible_to(user)
    return qs.exclude(pk=exclude_pk) if exclude_pk else qs


def _clean(text: str, length: int = 300) -> str:
    """User input that goes into a query: Postgres refuses NUL characters in strings."""
    return (text or "").replace("\x00", "").strip()[:length]


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def find_similar_people(
    *,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    organization_ids=(),
    exclude_pk=None,
    limit: int = 5,
    user=None,
    fuzzy: bool = True,
) -> list[Candidate]:
    """People who may be the person described: same email (first or second address, either
    way round), or the same or a similar name at one of `organization_ids`. With `user`,
    only people that user may see. `fuzzy=False` leaves out the similar names (Postgres
    only, a few milliseconds each) for bulk work such as imports, which need the exact
    checks only."""
    people = _base(Person, user, exclude_pk).select_related("owner")
    found: dict[int, Candidate] = {}
    email = _clean(email, 254).lower()
    if email:
        for person in people.filter(Q(email=email) | Q(email_secondary=email)).order_by("pk")[:limit]:
            found[person.pk] = Candidate(person, Reason.SAME_EMAIL)
    key = person_name_key(first_name, last_name)
    org_ids = _ids(organization_ids)
    if key and org_ids and len(found) < limit:
        at_organizations = Exists(Employment.objects.filter(person_id=OuterRef("pk"), organization_id__in=org_ids))
        colleagues = people.filter(at_organizations).exclude(pk__in=list(found))
        for person in colleagues.filter(name_key=key).order_by("pk")[: limit - len(found)]:
            found[person.pk] = Candidate(person, Reason.SAME_NAME_AT_ORGANIZATION)
        if fuzzy and len(found) < limit and _is_postgres() and _employ_few_people(org_ids):
            from django.contrib.postgres.search import TrigramSimilarity

            similar = (
                colleagues.exclude(pk__in=list(found))
                .exclude(name_key=key)
                .annotate(similarity=TrigramSimilarity("name_key", key))
                .filter(similarity__gte=SIMILAR_PERSON_NAME)
                .order_by("-similarity", "pk")[: limit - len(found)]
            )
            for person in similar:
                found[person.pk] = Candidate(person, Reason.SIMILAR_NAME_AT_ORGANIZATION, person.similarity)
    return list(found.values())


def _ids(values) -> list[int]:
    """Organization ids from ids, numeric strings or organizations; anything else is skipped."""
    ids = set()
    for value in values or ():
        try:
            ids.add(int(getattr(value, "pk", value)))
        except (TypeError, ValueError):
            continue
    return sorted(ids)


def _employ_few_people(org_ids) -> bool:
    employed = Employment.objects.filter(organization_id__in=org_ids).order_by()[: SIMILARITY_MAX_PEOPLE + 1]
    return employed.count() <= SIMILARITY_MAX_PEOPLE


def find_similar_organizations(
    *, name: str, exclude_pk=None, limit: int = 5, user=None, fuzzy: bool = True
) -> list[Candidate]:
    """Organizations whose name is the same once legal form, case and accents are ignored;
    on Postgres, unless `fuzzy=False`, also those with a similar name (trigram similarity
    of the keys; tens of milliseconds on a large table, so imports leave it out)."""
    key = organization_name_key(name)
    if not key:
        return []
    organizations = _base(Organization, user, exclude_pk).select_related("owner")
    found = [
        Candidate(org, Reason.SAME_ORGANIZATION_NAME)
        for org in organizations.filter(name_key=key).order_by("pk")[:limit]
    ]
    if fuzzy and len(found) < limit and _is_postgres():
        from django.contrib.postgres.search import TrigramSimilarity

        # The GIN trigram index on search_key (which holds the name's words) narrows the
        # table down to a few rows; only those get the exact similarity of their name keys.
        similar = (
            organizations.filter(search_key__trigram_word_similar=key)
            .exclude(name_key=key)
            .annotate(similarity=TrigramSimilarity("name_key", key))
            .filter(similarity__gte=SIMILAR_ORGANIZATION_NAME)
            .order_by("-similarity", "pk")[: limit - len(found)]
        )
        found += [Candidate(org, Reason.SIMILAR_ORGANIZATION_NAME, org.similarity) for org in similar]
    return found


# --- the duplicates page: groups of records sharing a key, a page at a time ------------------


@dataclass
class DuplicateGroup:
    key: str  # what the records share: an address, a name key
    label: str
    size: int  # how many records share it (more than `members` when capped)
    members: list = field(default_factory=list)
    organization: Organization | None = None

    @property
    def hidden_count(self) -> int:
        return max(0, self.size - len(self.members))


@dataclass
class GroupPage:
    groups: list[DuplicateGroup]
    next_cursor: str = ""  # empty on the last page


def _page(keys: list, page_size: int, cursor_of) -> tuple[list, str]:
    """Keyset paging: read one key more than a page to know whether there is a next page."""
    if len(keys) > page_size:
        keys = keys[:page_size]
        return keys, cursor_of(keys[-1])
    return keys, ""


def _ranked(qs, *partition, oldest_first="pk"):
    """At most GROUP_MEMBER_LIMIT rows per partition, oldest first, with the partition size."""
    return qs.annotate(
        rank=Window(RowNumber(), partition_by=[F(p) for p in partition], order_by=[F(oldest_first).asc()]),
        group_size=Window(Count("pk"), partition_by=[F(p) for p in partition]),
    ).filter(rank__lte=GROUP_MEMBER_LIMIT)


def _employments():
    return models.Prefetch(
        "employments",
        queryset=Employment.objects.select_related("organization")
        .only("id", "person_id", "position", "organization__id", "organization__name")
        .order_by("-is_primary", "pk"),
    )


def email_duplicate_groups(*, user, after: str = "", page_size: int = GROUP_PAGE_SIZE) -> GroupPage:
    """Addresses that two or more people share, as first or second email (addresses are
    stored lowercased, so this is case-insensitive). Ordered by address, from `after` on."""
    people = Person.objects.visible_to(user).order_by()
    after = _clean(after).lower()

    def repeated(column):
        return (
            people.filter(**{f"{column}__gt": after})
            .values(column)
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .order_by(column)[: page_size + 1]
        )

    keys = {row["email"] for row in repeated("email")}
    keys |= {row["email_secondary"] for row in repeated("email_secondary")}
    # Driven from the second addresses: few people have one, so this reads few index entries.
    crossed = (
        people.filter(email_secondary__gt=after)
        .filter(Exists(people.filter(email=OuterRef("email_secondary")).exclude(pk=OuterRef("pk"))))
        .order_by("email_secondary")
        .values_list("email_secondary", flat=True)
        .distinct()[: page_size + 1]
    )
    keys |= set(crossed)
    keys, next_cursor = _page(sorted(keys)[: page_size + 1], page_size, lambda k: k)
    if not keys:
        return GroupPage([])

    members: dict[str, dict[int, Person]] = {k: {} for k in keys}
    sizes = dict.fromkeys(keys, 0)
    for column in ("email", "email_secondary"):
        counted = set()
        ranked = _ranked(people.filter(**{f"{column}__in": keys}), column)
        for person in ranked.select_related("owner").prefetch_related(_employments()):
            address = getattr(person, column)
            members[address].setdefault(person.pk, person)
            if address not in counted:  # every row of a partition carries the same size
                counted.add(address)
                sizes[address] += person.group_size
    groups = [
        DuplicateGroup(key=k, label=k, size=sizes[k], members=sorted(members[k].values(), key=lambda p: p.pk)[:GROUP_MEMBER_LIMIT])
        for k in keys
    ]
    return GroupPage(groups, next_cursor)


NAME_CURSOR_SEPARATOR = "|"


def _name_cursor(name_key: str, organization_id: int) -> str:
    return f"{name_key}{NAME_CURSOR_SEPARATOR}{organization_id}"


def _parse_name_cursor(cursor: str) -> tuple[str, int] | None:
    name_key, _sep, organization_id = _clean(cursor).rpartition(NAME_CURSOR_SEPARATOR)
    if not name_key or not organization_id.isdigit():
        return None
    return name_key, int(organization_id)


def name_duplicate_groups(*, user, after: str = "", page_size: int = GROUP_PAGE_SIZE) -> GroupPage:
    """People with the same name key at the same organization, ordered by name, then
    organization, from the cursor `after` (as returned in `next_cursor`) on."""
    people = Person.objects.visible_to(user).order_by()
    cursor = _parse_name_cursor(after)
    if cursor:
        # Written with a plain range on name_key so that Postgres walks the name_key index
        # and stops after a page of groups.
        name_key, organization_id = cursor
        position = Q(name_key__gte=name_key) & (
            Q(name_key__gt=name_key) | Q(employments__organization_id__gt=organization_id)
        )
    else:
        position = Q(name_key__gt="")
    # One filter() call, so that the cursor, the NOT NULL and values() share one join.
    rows = list(
        people.filter(position, employments__organization_id__isnull=False)
        .values("name_key", "employments__organization_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("name_key", "employments__organization_id")[: page_size + 1]
    )
    pairs = [(row["name_key"], row["employments__organization_id"], row["n"]) for row in rows]
    pairs, next_cursor = _page(pairs, page_size, lambda p: _name_cursor(p[0], p[1]))
    if not pairs:
        return GroupPage([])

    condition = Q()
    for name_key, organization_id, _n in pairs:
        condition |= Q(person__name_key=name_key, organization_id=organization_id)
    employments = list(
        _ranked(Employment.objects.filter(condition).order_by(), "organization_id", "person__name_key", oldest_first="person_id")
        .select_related("person__owner", "organization")
    )
    visible = set(people.filter(pk__in=[e.person_id for e in employments]).values_list("pk", flat=True))
    groups = {(k, o): DuplicateGroup(key=_name_cursor(k, o), label="", size=n) for k, o, n in pairs}
    for employment in sorted(employments, key=lambda e: e.person_id):
        group = groups.get((employment.person.name_key, employment.organization_id))
        if group is None or employment.person_id not in visible:
            continue
        person = employment.person
        person.position_here = employment.position
        group.members.append(person)
        group.organization = employment.organization
        group.label = group.label or person.full_name
    return GroupPage([g for g in groups.values() if len(g.members) > 1], next_cursor)


def organization_duplicate_groups(*, user, after: str = "", page_size: int = GROUP_PAGE_SIZE) -> GroupPage:
    """Organizations whose names are equal once legal form, case and accents are ignored."""
    organizations = Organization.objects.visible_to(user).order_by()
    rows = (
        organizations.filter(name_key__gt=_clean(after))
        .values("name_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("name_key")[: page_size + 1]
    )
    keyed, next_cursor = _page([(row["name_key"], row["n"]) for row in rows], page_size, lambda k: k[0])
    if not keyed:
        return GroupPage([])
    groups = {k: DuplicateGroup(key=k, label="", size=n) for k, n in keyed}
    members = _ranked(organizations.filter(name_key__in=list(groups)), "name_key").select_related("owner")
    for organization in sorted(members, key=lambda o: o.pk):
        group = groups[organization.name_key]
        group.members.append(organization)
        group.label = group.label or organization.name
    return GroupPage(list(groups.values()), next_cursor)


# --- merging ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """One kind of row that points at a person or organization and must follow a merge."""

    name: str  # the key in MergeRecord.moved
    label: str
    kind: str  # "fk": rows with a foreign key to the record; "m2m": a many-to-many set
    model: type  # fk: the model holding the rows; m2m: the through model
    field: models.Field  # fk: that foreign key; m2m: the through model's key to the record
    other_side: str = ""  # m2m: the through model's key to the other end


def merge_relations(model) -> list[Relation]:
    """Everything that points at `model`, found from its reverse relations and many-to-many
    fields, so that what other apps add later is included. Left out: history tables (they
    keep describing the merged record as it was) and auto-created many-to-many tables, which
    are handled as sets through their many-to-many field."""
    relations = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        related = rel.related_model
        if issubclass(related, HistoricalChanges):
            continue
        if rel.many_to_many:
            through = rel.through
            if through._meta.auto_created:  # another model's plain many-to-many to this one
                m2m = rel.field
                relations.append(
                    Relation(
                        rel.get_accessor_name() or m2m.name,
                        str(related._meta.verbose_name_plural),
                        "m2m",
                        through,
                        through._meta.get_field(m2m.m2m_reverse_field_name()),
                        m2m.m2m_field_name(),
                    )
                )
            continue  # a custom through model has its own foreign key, handled below
        if related._meta.auto_created:
            continue
        accessor = rel.get_accessor_name()
        name = accessor if accessor and not accessor.endswith("+") else f"{related._meta.label_lower}.{rel.field.name}"
        relations.append(Relation(name, str(related._meta.verbose_name_plural), "fk", related, rel.field))
    for m2m in model._meta.many_to_many:
        through = m2m.remote_field.through
        if through._meta.auto_created:
            relations.append(
                Relation(
                    m2m.name,
                    str(m2m.verbose_name),
                    "m2m",
                    through,
                    through._meta.get_field(m2m.m2m_field_name()),
                    m2m.m2m_reverse_field_name(),
                )
            )
    return relations


@dataclass(frozen=True)
class MovePreview:
    relation: Relation
    count: int


def merge_preview(*, other) -> list[MovePreview]:
    """What a merge would move from `other`, one count per relation (a fixed number of queries)."""
    return [
        MovePreview(relation, relation.model._base_manager.filter(**{relation.field.name: other}).count())
        for relation in merge_relations(type(other))
    ]


def merge_fields(model) -> list[models.Field]:
    """The fields whose values a merge takes from one record or the other (the custom fields are
    merged field by field instead: `merged_custom_fields`)."""
    return [f for f in model._meta.concrete_fields if f.editable and not f.primary_key and f.name != "custom_fields"]


def merged_custom_fields(survivor, other) -> dict:
    """The survivor keeps its custom-field values; those it has not are taken from the other."""
    theirs = {key: value for key, value in (other.custom_fields or {}).items() if not customfields.is_empty(value)}
    ours = {key: value for key, value in (survivor.custom_fields or {}).items() if not customfields.is_empty(value)}
    return {**theirs, **ours}


def _is_empty(field, value) -> bool:
    return value in field.empty_values


def _unique_partners(model, fk) -> list[tuple[str, ...]]:
    """For each uniqueness rule of `model` that includes `fk`, the other fields in it."""
    partners = []
    if fk.unique:
        partners.append(())
    for names in model._meta.unique_together:
        if fk.name in names:
            partners.append(tuple(n for n in names if n != fk.name))
    for constraint in model._meta.total_unique_constraints:
        if fk.name in constraint.fields:
            partners.append(tuple(n for n in constraint.fields if n != fk.name))
    return partners


def _fill_blanks(target, source, *, skip: set[str]) -> None:
    for f in target._meta.concrete_fields:
        if f.primary_key or f.name in skip:
            continue
        if _is_empty(f, getattr(target, f.attname)) and not _is_empty(f, getattr(source, f.attname)):
            setattr(target, f.attname, getattr(source, f.attname))


def _combine_clashes(relation: Relation, partners: tuple[str, ...], survivor, other) -> int:
    """Rows of `other` that would break a uniqueness rule once re-pointed (Employment: the same
    person at both organizations). The survivor's row stays, takes the blanks it has from the
    other's row, and the other's row goes. Loads only the clashing rows."""
    manager, fk = relation.model._base_manager, relation.field.name
    match = {name: OuterRef(name) for name in partners}
    theirs = list(manager.filter(Exists(manager.filter(**{fk: survivor}, **match)), **{fk: other}))
    if not theirs:
        return 0
    ours = {
        tuple(getattr(row, relation.model._meta.get_field(n).attname) for n in partners): row
        for row in manager.filter(Exists(manager.filter(**{fk: other}, **match)), **{fk: survivor})
    }
    for row in theirs:
        keep = ours[tuple(getattr(row, relation.model._meta.get_field(n).attname) for n in partners)]
        _fill_blanks(keep, row, skip={fk, *partners})
        row.delete()
        keep.save()
    return len(theirs)


def _move(relation: Relation, survivor, other) -> int:
    manager, fk = relation.model._base_manager, relation.field.name
    if relation.kind == "m2m":
        # A set: the survivor keeps its links and gains the other's it lacks.
        already = manager.filter(**{fk: survivor}).values(relation.other_side)
        count = manager.filter(**{fk: other}).count()
        manager.filter(**{fk: other}).exclude(**{f"{relation.other_side}__in": already}).update(**{fk: survivor})
        manager.filter(**{fk: other}).delete()
        return count
    combined = sum(_combine_clashes(relation, partners, survivor, other) for partners in _unique_partners(relation.model, relation.field))
    rows = manager.filter(**{fk: other})
    if relation.model is type(survivor):
        rows = rows.exclude(pk=survivor.pk)
    return combined + rows.update(**{fk: survivor})


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _snapshot(record) -> dict:
    """The record's own values, JSON-safe, for MergeRecord.merged_data."""
    derived = getattr(record, "derived_fields", ())
    data = {f.name: getattr(record, f.attname) for f in record._meta.concrete_fields if f.name not in derived}
    for m2m in record._meta.many_to_many:
        if m2m.remote_field.through._meta.auto_created:
            data[m2m.name] = [str(obj) for obj in getattr(record, m2m.name).all()]
    return json.loads(json.dumps(data, cls=_Encoder))


def _apply_field_values(survivor, other, field_values: dict | None) -> None:
    fields = {f.name: f for f in merge_fields(type(survivor))}
    choices = dict(field_values or {})
    unknown = set(choices) - set(fields)
    if unknown or set(choices.values()) - {KEEP_SURVIVOR, TAKE_OTHER}:
        raise ValueError(f"field_values names unknown fields or sources: {choices!r}")
    for name, f in fields.items():
        choice = choices.get(name)
        theirs = getattr(other, f.attname)
        if choice == TAKE_OTHER or (choice is None and _is_empty(f, getattr(survivor, f.attname)) and not _is_empty(f, theirs)):
            setattr(survivor, f.attname, theirs)
    if hasattr(survivor, "custom_fields"):
        survivor.custom_fields = merged_custom_fields(survivor, other)


def _keep_every_address(survivor, before, other, field_values: dict | None) -> None:
    """A person has two email fields; after a merge they hold two different addresses when
    the records knew two, instead of one address twice."""
    addresses = [before.email, before.email_secondary, other.email, other.email_secondary]
    if survivor.email_secondary == survivor.email:
        survivor.email_secondary = ""
    if survivor.email_secondary or "email_secondary" in (field_values or {}):
        return
    survivor.email_secondary = next((a for a in addresses if a and a != survivor.email), "")


def _lock_pair(model, survivor, other):
    if survivor.pk == other.pk:
        raise ValidationError(_("A record cannot be merged with itself."))
    locked = {obj.pk: obj for obj in model._base_manager.select_for_update().filter(pk__in=[survivor.pk, other.pk]).order_by("pk")}
    if len(locked) != 2:
        raise model.DoesNotExist(_("One of the records to merge no longer exists."))
    return locked[survivor.pk], locked[other.pk]


def _merge(model, kind: str, *, survivor, other, user, field_values, before_save=None):
    survivor, other = _lock_pair(model, survivor, other)
    editable = model.objects.editable_by(user).filter(pk__in=[survivor.pk, other.pk]).count()
    if editable != 2:
        raise PermissionDenied
    merged_label = str(other)[:250]
    merged_data = _snapshot(other)
    before = copy.copy(survivor)
    _apply_field_values(survivor, other, field_values)
    if before_save:
        before_save(survivor, before, other)
    # A survivor pointing at the merged record (a parent organization, say) would point at
    # itself; it lets go first, so that deleting the merged record cannot cascade to it.
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is model and getattr(survivor, f.attname) == other.pk:
            setattr(survivor, f.attname, None)
            model._base_manager.filter(pk=survivor.pk).update(**{f.attname: None})
    relations = merge_relations(model)
    moved = {}
    for relation in relations:
        count = _move(relation, survivor, other)
        if count:
            moved[relation.name] = count
    MergeRecord.objects.create(
        kind=kind,
        survivor_id=survivor.pk,
        merged_id=other.pk,
        merged_label=merged_label,
        merged_data=merged_data,
        moved=moved,
        merged_by=user,
    )
    reason = _("Merged with %(name)s") % {"name": merged_label}
    other._history_user = survivor._history_user = user
    other._change_reason = survivor._change_reason = reason
    changefeed.mark_merged(other, survivor=survivor)
    other.delete()
    survivor.save()
    details = [_("“%(merged)s” (#%(id)s) was merged into this record.") % {"merged": merged_label, "id": other.pk}]
    labels = {r.name: r.label for r in relations}
    details += [f"{capfirst(labels[name])}: {count}" for name, count in moved.items()]
    Activity.objects.create(
        kind=Activity.Kind.NOTE,
        subject=reason[:200],
        body="\n".join(details),
        created_by=user,
        **{"person" if model is Person else "organization": survivor},
    )
    return survivor


@transaction.atomic
def person_merge(*, survivor: Person, other: Person, user, field_values: dict | None = None) -> Person:
    """Merge `other` into `survivor`: everything linked to `other` moves over, empty fields
    are filled from it (or `field_values` says per field which record's value wins:
    {"email": "other", "city": "survivor"}), a MergeRecord keeps what `other` held, then
    `other` is deleted and a note on the survivor's timeline tells what happened."""
    return _merge(
        Person,
        MergeRecord.Kind.PERSON,
        survivor=survivor,
        other=other,
        user=user,
        field_values=field_values,
        before_save=lambda person, before, other: _keep_every_address(person, before, other, field_values),
    )


@transaction.atomic
def organization_merge(
    *, survivor: Organization, other: Organization, user, field_values: dict | None = None
) -> Organization:
    """Merge `other` into `survivor`; see person_merge."""
    return _merge(
        Organization,
        MergeRecord.Kind.ORGANIZATION,
        survivor=survivor,
        other=other,
        user=user,
        field_values=field_values,
    )
