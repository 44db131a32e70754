"""vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) export of people, and reading vCards for the import.

Export: `person_vcard` for one person, `people_vcards` streams a whole (filtered, access-restricted)
queryset card by card, so a big export never sits in memory.

Import: a .vcf file goes through the same import as a CSV file (contacts.services.importing):
`vcard_records` turns each card into the cells of a fixed set of columns (`VCARD_COLUMNS`), which
the import's mapping, preview, validation, duplicate check and bulk writes then treat like the
columns of a CSV file. A card that cannot be read becomes a `BrokenCard`, which the import reports
as a rejected row with its line number instead of failing the file. Older cards (2.1 and 3.0 from
Outlook) may carry QUOTED-PRINTABLE values with a CHARSET parameter; vobject decodes them.
"""

import re
import uuid
from collections.abc import Iterable, Iterator

import vobject
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from contacts.models import Employment, Person

VERSIONS = ("3.0", "4.0")
CHUNK_SIZE = 2000

# The import columns a card fills, in this order: its cells line up with them.
VCARD_COLUMNS = (
    "salutation", "academic_title", "first_name", "last_name", "email", "email_secondary", "phone", "mobile",
    "street", "postal_code", "city", "country", "birthday", "organization", "position", "department", "description",
)

# A stable UID per person and CRM record: the same person exported twice is the same contact on the phone.
_UID_NAMESPACE = uuid.UUID("5b0c7c0e-4a57-4d0a-9a43-0f6c1ab1c2d7")


# --- Export ----------------------------------------------------------------------------------


def _uid(person) -> str:
    return f"urn:uuid:{person_uid(person.pk)}"


def _types(version: str, *names: str) -> list[str]:
    # 3.0 writes the types in upper case (TYPE=INTERNET,WORK); 4.0 registers them in lower case.
    return [n.upper() for n in names] if version == "3.0" else [n.lower() for n in names if n.upper() != "INTERNET"]


def _add_typed(card, name: str, value: str, *, version: str, types: tuple[str, ...], preferred: bool) -> None:
    line = card.add(name)
    line.value = value
    type_list = _types(version, *types)
    if preferred:
        if version == "3.0":
            type_list.append("PREF")
        else:
            line.pref_param = "1"
    if type_list:
        line.type_paramlist = type_list


def _build(person, *, version: str, organization: str = "", department: str = "", position: str = ""):
    card = vobject.vCard()
    card.add("version").value = version
    if version == "4.0":
        card.add("kind").value = "individual"
    card.add("uid").value = _uid(person)
    prefix = " ".join(
        p for p in [
            person.get_salutation_display() if person.salutation != Person.Salutation.NONE else "",
            person.get_academic_title_display() if person.academic_title else "",
        ] if p
    )
    card.add("n").value = vobject.vcard.Name(family=person.last_name, given=person.first_name, prefix=prefix)
    card.add("fn").value = person.full_name
    for index, address in enumerate(a for a in (person.email, person.email_secondary) if a):
        _add_typed(card, "email", address, version=version, types=("INTERNET",), preferred=index == 0)
    if person.phone:
        _add_typed(card, "tel", str(person.phone), version=version, types=("WORK", "VOICE"), preferred=True)
    if person.mobile:
        _add_typed(card, "tel", str(person.mobile), version=version, types=("CELL",), preferred=not person.phone)
    if person.street or person.postal_code or person.city:
        card.add("adr").value = vobject.vcard.Address(
            street=person.street, city=person.city, code=person.postal_code,
            country=str(person.country.name) if person.country else "",
        )
    if organization:
        card.add("org").value = [organization, department] if department else [organization]
    if position:
        card.add("title").value = position
    if person.birthday:
        card.add("bday").value = person.birthday.strftime("%Y%m%d" if version == "4.0" else "%Y-%m-%d")
    if version == "4.0" and person.preferred_language:
        card.add("lang").value = person.preferred_language
    if person.description:
        card.add("note").value = person.description
    card.add("rev").value = person.updated_at.strftime("%Y%m%dT%H%M%SZ")
    return card


def _with_employment(queryset):
    primary = Employment.objects.filter(person=OuterRef("pk")).order_by("-is_primary", "pk")
    return queryset.annotate(
        vcard_organization=Subquery(primary.values("organization__name")[:1]),
        vcard_department=Subquery(primary.values("department")[:1]),
        vcard_position=Subquery(primary.values("position")[:1]),
    )


def _serialize(person, version: str) -> str:
    return _build(
        person, version=version, organization=person.vcard_organization or "",
        department=person.vcard_department or "", position=person.vcard_position or "",
    ).serialize()


def person_vcard(person, *, version: str = "3.0") -> str:
    """One person's vCard (with their primary employer and position)."""
    annotated = _with_employment(Person.objects.filter(pk=person.pk)).get()
    return _serialize(annotated, version)


def people_vcards(queryset, *, version: str = "3.0") -> Iterator[str]:
    """The vCards of `queryset` (already filtered and restricted to what the user may see), one by one."""
    for _person, text in people_cards(queryset, version=version):
        yield text


def people_cards(queryset, *, version: str = "3.0") -> Iterator[tuple]:
    """(person, vCard) for each person of `queryset`, one by one (the address book sync needs the
    person beside the card)."""
    queryset = _with_employment(queryset).order_by("last_name", "first_name", "pk")
    for person in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield person, _serialize(person, version)


def person_uid(person_id: int) -> str:
    """The UID of a person's card, without the "urn:uuid:" (a file name in an address book)."""
    return str(uuid.uuid5(_UID_NAMESPACE, f"person:{person_id}"))


# --- Import ----------------------------------------------------------------------------------


class BrokenCard(list):
    """The cells of a card that could not be read, with the reason: the import rejects the row."""

    def __init__(self, cells: Iterable[str], reason: str):
        super().__init__(cells)
        self.reason = reason


_SALUTATIONS = {"herr": "Herr", "hr": "Herr", "mr": "Mr", "frau": "Frau", "fr": "Frau", "mrs": "Mrs", "ms": "Ms", "miss": "Miss"}
_GENDERS = {"M": "Herr", "F": "Frau"}
_TITLES = {"dr": "dr", "prof": "prof", "profdr": "prof_dr", "doktor": "dr", "professor": "prof"}


def _params(line, name: str) -> list[str]:
    found = [v.upper() for value in line.params.get(name, []) for v in value.split(",")]
    if name == "TYPE":  # vCard 2.1 writes the types bare: TEL;WORK;VOICE
        found += [p.upper() for p in line.singletonparams]
    return found


def _is_preferred(line) -> bool:
    # 2.1 and 3.0: TYPE=pref (or a bare PREF); 4.0: PREF=1 (1 is the most preferred of 1..100).
    return "PREF" in _params(line, "TYPE") or _params(line, "PREF")[:1] == ["1"]


def _by_preference(lines: list) -> list:
    return sorted(lines, key=lambda line: not _is_preferred(line))  # stable: file order otherwise


def _text(value) -> str:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if v)
    return str(value or "").strip()


def _prefix(prefix: str, notes: list[str]) -> tuple[str, str]:
    """(salutation, academic title) from the N prefix ("Herr Dr.", "Prof. Dr."); the rest goes to the notes."""
    salutation, title_words, rest = "", [], []
    for word in prefix.replace(",", " ").split():
        key = re.sub(r"[^a-z]", "", word.lower())
        if key in _SALUTATIONS and not salutation:
            salutation = _SALUTATIONS[key]
        elif key in ("dr", "prof", "doktor", "professor"):
            title_words.append(key)
        elif key:
            rest.append(word)
    title = _TITLES.get("".join(title_words), "") if title_words else ""
    if title_words and not title:
        rest[:0] = title_words
    if rest:
        notes.append(_("Name prefix: %(prefix)s") % {"prefix": " ".join(rest)})
    return salutation, title


def _birthday(line, notes: list[str]) -> str:
    """The birthday as YYYY-MM-DD (the import checks it); a birthday without a year cannot be stored."""
    raw = _text(line.value)
    if "X-APPLE-OMIT-YEAR" in line.params or raw.startswith("--"):
        notes.append(_("Birthday without a year: %(value)s") % {"value": raw})
        return ""
    match = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$", raw)
    return "-".join(match.groups()) if match else raw


def _fields(card) -> list[str]:
    contents = card.contents
    notes: list[str] = []
    values = dict.fromkeys(VCARD_COLUMNS, "")
    name = contents.get("n", [None])[0]
    if name is not None and isinstance(name.value, vobject.vcard.Name):
        values["last_name"] = _text(name.value.family)
        values["first_name"] = " ".join(p for p in [_text(name.value.given), _text(name.value.additional)] if p)
        values["salutation"], values["academic_title"] = _prefix(_text(name.value.prefix), notes)
        if _text(name.value.suffix):
            notes.append(_("Name suffix: %(suffix)s") % {"suffix": _text(name.value.suffix)})
    if not values["last_name"] and contents.get("fn"):
        # Only a display name: its last word is taken as the family name.
        *given, family = _text(contents["fn"][0].value).split() or [""]
        values["first_name"], values["last_name"] = " ".join(given), family
    if not values["salutation"] and contents.get("gender"):
        values["salutation"] = _GENDERS.get(_text(contents["gender"][0].value)[:1].upper(), "")
    emails = [_text(line.value) for line in _by_preference(contents.get("email", [])) if _text(line.value)]
    values["email"], values["email_secondary"] = (emails + ["", ""])[:2]
    if emails[2:]:
        notes.append(_("Further emails: %(values)s") % {"values": ", ".join(emails[2:])})
    phones, mobiles = [], []
    for line in _by_preference(contents.get("tel", [])):
        number = _text(line.value).removeprefix("tel:")
        if number:
            (mobiles if "CELL" in _params(line, "TYPE") else phones).append(number)
    values["phone"] = phones.pop(0) if phones else ""
    values["mobile"] = mobiles.pop(0) if mobiles else ""
    if phones or mobiles:
        notes.append(_("Further phone numbers: %(values)s") % {"values": ", ".join(phones + mobiles)})
    addresses = _by_preference([line for line in contents.get("adr", []) if isinstance(line.value, vobject.vcard.Address)])
    if addresses:
        address = addresses[0].value
        values["street"] = ", ".join(p for p in [_text(address.street), _text(address.extended)] if p)
        values["postal_code"], values["city"], values["country"] = _text(address.code), _text(address.city), _text(address.country)
    if contents.get("org"):
        org = contents["org"][0].value
        parts = [_text(p) for p in (org if isinstance(org, list) else [org])]
        values["organization"] = parts[0] if parts else ""
        values["department"] = " / ".join(p for p in parts[1:] if p)
    if contents.get("title"):
        values["position"] = _text(contents["title"][0].value)
    if contents.get("bday"):
        values["birthday"] = _birthday(contents["bday"][0], notes)
    note = "\n".join(_text(line.value) for line in contents.get("note", []) if _text(line.value))
    values["description"] = "\n\n".join(p for p in [note, "\n".join(notes)] if p)
    return [values[column] for column in VCARD_COLUMNS]


_BEGIN = re.compile(r"^BEGIN\s*:\s*VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END\s*:\s*VCARD\s*$", re.IGNORECASE)
_FN = re.compile(r"^(?:[\w-]+\.)?FN[;:]", re.IGNORECASE)


def _blocks(lines: Iterable[str]) -> Iterator[tuple[int, list[str], bool]]:
    """(line number of BEGIN:VCARD, the card's lines, complete?) for each card of the file."""
    start, block = 0, None
    for number, line in enumerate(lines, start=1):
        stripped = line.rstrip("\r\n").lstrip("\ufeff")
        if block is None:
            if _BEGIN.match(stripped.strip()):
                start, block = number, [stripped]
            continue
        if _BEGIN.match(stripped.strip()):  # a card without its END: report it, start the next one
            yield start, block, False
            start, block = number, [stripped]
            continue
        block.append(stripped)
        if _END.match(stripped.strip()):
            yield start, block, True
            block = None
    if block is not None:
        yield start, block, False


def _display_name(block: list[str]) -> str:
    line = next((line for line in block if _FN.match(line)), "")
    return line.split(":", 1)[1].strip()[:100] if ":" in line else ""


_VERSION_21 = re.compile(r"^VERSION\s*:\s*2\.1\s*$", re.IGNORECASE)
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def _escape_21(block: list[str]) -> list[str]:
    """vCard 2.1 does not escape commas in values (3.0 does, and vobject reads 2.1 cards by 3.0's rules,
    so "anrufen, bitte" would lose everything after the comma): escape them before parsing. A line
    after one ending in "=" continues a QUOTED-PRINTABLE value and is value throughout."""
    escaped, continues, quoted_printable = [], False, False
    for line in block:
        if continues:
            head, value = "", line
        else:
            head, _colon, value = line.partition(":")
            head += _colon
            quoted_printable = "QUOTED-PRINTABLE" in head.upper()
        escaped.append(head + _UNESCAPED_COMMA.sub(r"\\,", value))
        continues = quoted_printable and line.endswith("=")
    return escaped


def vcard_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the card begins, cells in the order of VCARD_COLUMNS) for each card."""
    for start, block, complete in _blocks(lines):
        if not complete:
            yield start, BrokenCard([_display_name(block)], _("This vCard has no END:VCARD line."))
            continue
        if any(_VERSION_21.match(line.strip()) for line in block):
            block = _escape_21(block)
        try:
            card = vobject.readOne("\r\n".join(block) + "\r\n", allowQP=True)
            cells = _fields(card)
        except Exception as error:  # vobject raises many kinds (ParseError, ValueError, LookupError of a CHARSET)
            problem = str(error).splitlines()[0][:200] if str(error) else error.__class__.__name__
            yield start, BrokenCard([_display_name(block)], _("This vCard cannot be read: %(problem)s") % {"problem": problem})
            continue
        yield start, cells


def count_cards(lines: Iterable[str]) -> int:
    return sum(1 for _block in _blocks(lines))

