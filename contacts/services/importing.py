"""CSV, Excel and vCard import of people and organizations.

A .vcf file (people only) is read by contacts.services.vcards into the cells of a fixed set of
columns, an Excel workbook (.xlsx) by contacts.services.workbooks into the text of its cells; from
there on both take the same path as a CSV file.

The steps, one page each: upload (`inspect_upload`, `import_create`), map the columns
(`guess_mapping`), preview the first rows (`import_preview`), then `import_start` queues the
Celery task that calls `import_run`.

`import_run` streams the file, never holding it whole in memory, in two passes:

1. Validation pass, outside any transaction: every line is converted and checked, lines that
   repeat an earlier line of the same file are skipped, the accepted values are spooled to a
   temporary file, and `processed_rows` is saved every 500 lines so that the page can show
   progress.
2. Write pass, one transaction per chunk of 1,000 accepted lines: one query finds the records
   that already exist, then the new ones are stored in bulk (people with their organizations and
   employments): on Postgres with COPY into ids reserved from the tables' sequences (`_insert`,
   `_copy`), elsewhere with `bulk_create`. The same transaction moves the job's checkpoint
   (`written_rows`), so a worker killed mid-import loses at most the chunk it was writing.

A running job writes a heartbeat every few seconds. `imports_resume_stalled` (beat, every minute,
and every worker start) queues a job whose heartbeat has stopped again; the resumed run repeats
the validation pass and continues after the checkpoint, so every line is stored once. An error
stops the import; the chunks already written stay (importing the file again adds only the rest).

Writing in bulk skips `save()` and signals, so the imported rows get no django-simple-history
entry; the import job itself (who, when, which file) is their history. The values are normalised
here the way `save()` would (lower-case emails, search keys).
"""

import codecs
import csv
import hashlib
import io
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files import File
from django.core.validators import URLValidator, validate_email
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_countries import countries
from phonenumber_field.phonenumber import PhoneNumber

from contacts.dedupe import organization_name_key, person_name_key
from contacts.models import Employment, ImportJob, Organization, OrganizationAddress, Person
from contacts.services import import_shapes, vcards, workbooks
from crm import bulk, changefeed, customfields
from crm.roles import IMPORT_ROLES, has_role
from crm.text import unaccent

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
CHUNK_SIZE = 1000
PROGRESS_EVERY = 500
PREVIEW_ROWS = 20
DELIMITERS = (";", ",", "\t")
# Serialises the write pass of imports on Postgres, so that two imports running at once cannot
# both create the same person (email is not unique in the database).
ADVISORY_LOCK_BASE = 0x696D706F7274


class CellError(Exception):
    """A value that cannot be stored; the message says why, without the column name."""


class CsvLineError(Exception):
    """The file stops being valid CSV at a line (an unclosed quote, for example)."""

    def __init__(self, line: int, error: csv.Error):
        super().__init__(
            _("From line %(line)d on, the file cannot be read as CSV (%(error)s). Is a quote not closed?")
            % {"line": line, "error": error}
        )


# --- Normalisation -------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Compare header names and choice labels ignoring case, accents, spaces and punctuation."""
    return _NON_ALNUM.sub("", unaccent(str(text)))


def _unquote_formula(value: str) -> str:
    """Undo the formula guard of our export ("'+49 30 …" -> "+49 30 …") so an export re-imports."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        return value[1:]
    return value


# --- Converters: raw cell text -> JSON-serialisable value for the model field ----------------


def text(max_length: int) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if len(value) > max_length:
            raise CellError(
                ngettext(
                    "longer than %(max)d character.", "longer than %(max)d characters.", max_length
                )
                % {"max": max_length}
            )
        return value

    return convert


def _first_of_many(value: str) -> str:
    """Google Contacts writes several values of one kind into one cell, separated by " ::: "."""
    return value.split(":::", 1)[0].strip() if ":::" in value else value


def email(value: str) -> str:
    value = _first_of_many(value).lower()
    try:
        validate_email(value)
    except ValidationError:
        raise CellError(_("“%(value)s” is not a valid email address.") % {"value": value}) from None
    if len(value) > 254:
        raise CellError(_("the email address is too long."))
    return value


def phone(value: str) -> str:
    value = _first_of_many(value)
    try:
        number = phonenumbers.parse(value, "DE")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise CellError(_("“%(value)s” is not a valid phone number.") % {"value": value})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class _CheckedPhoneNumber(PhoneNumber):
    """A number the validation pass has already checked. phonenumber_field re-validates a number on every
    str(), len() and save (four times per number and row), which otherwise is the import's slowest step."""

    def is_valid(self) -> bool:
        return True

    def __bool__(self) -> bool:  # else truth-testing formats the number (the field does it on every save)
        return True


def _checked_phone(e164: str) -> PhoneNumber:
    """The number for an E.164 string from `phone()`, without parsing it a second time.

    Country calling codes are prefix-free, so the first known prefix of one to three digits is it."""
    digits = e164[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            number = _CheckedPhoneNumber(country_code=code, national_number=int(national))
            zeros = len(national) - len(national.lstrip("0"))
            if zeros:  # Italian numbers keep their leading zero
                number.italian_leading_zero = True
                if zeros > 1:
                    number.number_of_leading_zeros = zeros
            return number
    raise ValueError(f"not an E.164 number: {e164}")


_COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "vereinigtestaaten": "US", "unitedstates": "US", "amerika": "US",
    "uk": "GB", "england": "GB", "grossbritannien": "GB", "greatbritain": "GB", "unitedkingdom": "GB",
    "holland": "NL", "niederlande": "NL", "tschechien": "CZ", "czechia": "CZ", "russland": "RU",
}


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names = dict(_COUNTRY_ALIASES)
    for language in ("en", "de"):
        with translation.override(language):
            for code, name in countries:
                names.setdefault(normalize(name), code)
    return names


@lru_cache(maxsize=1024)  # a file repeats the same few countries
def country(value: str) -> str:
    if len(value) in (2, 3) and value.isalpha():
        code = countries.alpha2(value)
        if code:
            return code
    code = _country_names().get(normalize(value))
    if not code:
        raise CellError(
            _("“%(value)s” is not a country (use a two-letter code like DE or a name like Deutschland).")
            % {"value": value}
        )
    return code


_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Outlook's English export writes dates the American way (month first).
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# What Outlook writes for "no date" ("0/0/00" in English, "0.0.00" in German) and Google Contacts for a
# birthday without a year ("--05-17"): nothing that a date field can hold, but no mistake in the line.
_NO_DATE = re.compile(r"^(0[./]0[./]0{2,4}|--\d{2}-\d{2})$")


def _today() -> date:
    return _local_date_in_minute(int(time.time() // 60))


@lru_cache(maxsize=2)
def _local_date_in_minute(minute: int) -> date:
    # timezone.localdate() costs more than the rest of a date check; once a minute is enough.
    return timezone.localdate()


def past_date(value: str) -> str | None:
    if _NO_DATE.match(value):
        return None
    match = _GERMAN_DATE.match(value)
    parts = (match.group(3), match.group(2), match.group(1)) if match else None
    if parts is None and (match := _ISO_DATE.match(value)):
        parts = match.groups()
    if parts is None and (match := _US_DATE.match(value)):
        parts = (match.group(3), match.group(1), match.group(2))
    try:
        if parts is None:
            raise ValueError
        parsed = date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise CellError(
            _("“%(value)s” is not a date (use DD.MM.YYYY or YYYY-MM-DD).") % {"value": value}
        ) from None
    if parsed > _today():
        raise CellError(_("the date %(value)s lies in the future.") % {"value": value})
    return parsed.isoformat()


def choice(choices_class, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    """Accept the stored value or the English or German label (and a few common German words)."""

    @lru_cache(maxsize=1)
    def lookup() -> dict[str, str]:
        found = {normalize(alias): value for alias, value in (aliases or {}).items()}
        for language in ("en", "de"):
            with translation.override(language):
                for value, label in choices_class.choices:
                    found.setdefault(normalize(label), value)
        for value in choices_class.values:
            found[normalize(value)] = value
        found.pop("", None)
        return found

    @lru_cache(maxsize=256)
    def convert(value: str) -> str:
        key = normalize(value)
        if key in lookup():
            return lookup()[key]
        allowed = ", ".join(str(label) for value_, label in choices_class.choices if value_)
        raise CellError(_("“%(value)s” is not one of: %(allowed)s.") % {"value": value, "allowed": allowed})

    return convert


def integer(maximum: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        digits = value.replace(" ", "").replace(".", "").replace("’", "").replace("'", "")
        if not digits.isdigit() or int(digits) > maximum:
            raise CellError(
                _("“%(value)s” is not a whole number between 0 and %(max)s.") % {"value": value, "max": maximum}
            )
        return int(digits)

    return convert


_THOUSANDS = re.compile(r"^\d{1,3}([.,])\d{3}(\1\d{3})*$")


def amount(value: str) -> str:
    """"1.234,56", "1234,56", "1,234.56", "1234.56" and "1.234" all mean what a German reads in them (EUR)."""
    cleaned = value.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if _THOUSANDS.match(cleaned):  # "1.250" or "1,250": groups of three digits are thousands
        cleaned = cleaned.replace(".", "").replace(",", "")
    elif "," in cleaned and (cleaned.rfind(",") > cleaned.rfind(".")):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0 or number >= Decimal(10) ** 14:
        raise CellError(_("“%(value)s” is not an amount.") % {"value": value})
    return str(number.quantize(Decimal("0.01")))


_url_validator = URLValidator(schemes=["http", "https"])


def website(value: str) -> str:
    url = value if "://" in value else f"https://{value}"
    try:
        _url_validator(url)
    except ValidationError:
        raise CellError(_("“%(value)s” is not a web address.") % {"value": value}) from None
    if len(url) > 200:
        raise CellError(_("the web address is too long."))
    return url


# --- What can be imported ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str  # the key in ImportJob.mapping
    label: object  # lazy, shown in the mapping form and used to recognise header names
    convert: Callable[[str], object]  # None: the cell holds nothing to store
    required: bool = False
    synonyms: tuple[str, ...] = ()  # header names that mean this column, German and English


SALUTATION_ALIASES = {"Herr": "mr", "Hr": "mr", "Mr": "mr", "Frau": "ms", "Fr": "ms", "Mrs": "ms", "Ms": "ms", "Miss": "ms", "keine": "none", "divers": "none", "-": "none"}
LANGUAGE_ALIASES = {"deutsch": "de", "german": "de", "englisch": "en", "english": "en"}
LIFECYCLE_ALIASES = {"Abonnent": "subscriber", "Interessent": "lead", "qualifiziert": "qualified", "Kunde": "customer", "ehemaliger Kunde": "former_customer", "Altkunde": "former_customer"}
SOURCE_ALIASES = {
    "Webseite": "website", "Homepage": "website", "Empfehlung": "referral", "Messe": "trade_fair", "Kaltakquise": "cold_call",
    "Kampagne": "campaign", "Sonstiges": "other", "Sonstige": "other", "Andere": "other",
    # The standard values of Salesforce's "Lead Source" picklist.
    "Web": "website", "Phone Inquiry": "other", "Partner Referral": "partner", "Purchased List": "other",
    "Employee Referral": "referral", "External Referral": "referral", "Word of mouth": "referral", "Trade Show": "trade_fair",
    "Advertisement": "campaign", "Seminar - Internal": "trade_fair", "Seminar - Partner": "trade_fair", "Public Relations": "other",
}
RELATIONSHIP_ALIASES = {"Interessent": "prospect", "Kunde": "customer", "ehemaliger Kunde": "former_customer", "Altkunde": "former_customer", "Lieferant": "supplier", "Sonstige": "other", "Sonstiges": "other", "Andere": "other"}
INDUSTRY_ALIASES = {
    "Produktion": "manufacturing", "Industrie": "manufacturing", "Maschinenbau": "mechanical_engineering",
    "Automobil": "automotive", "Automobilindustrie": "automotive", "Chemie": "chemicals", "Pharma": "chemicals",
    "Bau": "construction", "Baugewerbe": "construction", "Einzelhandel": "retail", "Handel": "retail",
    "Großhandel": "wholesale", "IT": "it", "Software": "it", "Telekommunikation": "telecom",
    "Banken": "finance", "Versicherungen": "finance", "Finanzen": "finance", "Gesundheit": "health",
    "Gesundheitswesen": "health", "Energie": "energy", "Logistik": "logistics", "Transport": "logistics",
    "Gastronomie": "hospitality", "Hotellerie": "hospitality", "Beratung": "consulting",
    "Medien": "media", "Marketing": "media", "Bildung": "education", "öffentlicher Sektor": "public_sector",
    "Verwaltung": "public_sector", "Handwerk": "crafts", "Landwirtschaft": "agriculture",
    "Sonstige": "other", "Sonstiges": "other", "Andere": "other",
}
LEGAL_FORM_ALIASES = {"UG": "ug", "eK": "ek", "eV": "ev", "Einzelunternehmen": "sole", "Einzelunternehmer": "sole", "Behörde": "public", "Sonstige": "other"}

FIRST_NAME_SYNONYMS = ("Vorname", "Vornamen", "First name", "Firstname", "Given name", "Forename")
LAST_NAME_SYNONYMS = ("Nachname", "Name", "Familienname", "Zuname", "Last name", "Lastname", "Surname", "Family name")
FULL_NAME_SYNONYMS = ("Vollständiger Name", "Voller Name", "Vor- und Nachname", "Full name", "Contact name", "Display name")
# A column with the whole name: split into first and last name, and only used when the file has no
# column of its own for either (see guess_mapping and RowCleaner).
FULL_NAME = "full_name"

_TITLE = choice(Person.AcademicTitle, {"Doktor": "dr", "Professor": "prof", "Prof Dr": "prof_dr"})
_ADDRESS = (
    Column("street", gettext_lazy("Street and number"), text(200), synonyms=("Straße", "Strasse", "Str", "Straße und Hausnummer", "Adresse", "Anschrift", "Street", "Address", "Address line 1")),
    Column("postal_code", gettext_lazy("Postal code"), text(12), synonyms=("PLZ", "Postleitzahl", "ZIP", "ZIP code", "Postcode", "Postal code")),
    Column("city", gettext_lazy("City"), text(100), synonyms=("Ort", "Stadt", "Wohnort", "City", "Town")),
    Column("country", gettext_lazy("Country"), country, synonyms=("Land", "Staat", "Länderkennzeichen", "Country", "Country code")),
)

PERSON_COLUMNS = (
    Column("salutation", gettext_lazy("Salutation"), choice(Person.Salutation, SALUTATION_ALIASES), synonyms=("Anrede", "Salutation", "Geschlecht")),
    Column("academic_title", gettext_lazy("Academic title"), _TITLE, synonyms=("Titel", "Akad. Titel", "Title")),
    Column("first_name", gettext_lazy("First name"), text(100), synonyms=FIRST_NAME_SYNONYMS),
    Column("last_name", gettext_lazy("Last name"), text(100), required=True, synonyms=LAST_NAME_SYNONYMS),
    Column(FULL_NAME, gettext_lazy("Full name (split into first and last name)"), text(201), synonyms=FULL_NAME_SYNONYMS),
    Column("email", gettext_lazy("Email"), email, synonyms=("E-Mail", "Email", "Mail", "E-Mail-Adresse", "Emailadresse", "Email address", "E-Mail 1")),
    Column("email_secondary", gettext_lazy("Second email"), email, synonyms=("E-Mail 2", "Zweite E-Mail", "Weitere E-Mail", "Email 2", "Second email", "Other email")),
    Column("phone", gettext_lazy("Phone"), phone, synonyms=("Telefon", "Tel", "Telefonnummer", "Tel. geschäftlich", "Phone", "Telephone", "Phone number", "Business phone")),
    Column("mobile", gettext_lazy("Mobile"), phone, synonyms=("Mobil", "Mobiltelefon", "Handy", "Mobilnummer", "Mobile", "Mobile phone", "Cell", "Cell phone")),
    *_ADDRESS,
    Column("birthday", gettext_lazy("Birthday"), past_date, synonyms=("Geburtstag", "Geburtsdatum", "Birthday", "Date of birth", "Birth date")),
    Column("preferred_language", gettext_lazy("Preferred language"), choice(Person.Language, LANGUAGE_ALIASES), synonyms=("Sprache", "Korrespondenzsprache", "Language", "Preferred language")),
    Column("lifecycle_stage", gettext_lazy("Lifecycle stage"), choice(Person.Lifecycle, LIFECYCLE_ALIASES), synonyms=("Phase", "Lebenszyklus", "Status", "Lifecycle stage", "Stage")),
    Column("source", gettext_lazy("Source"), choice(Person.Source, SOURCE_ALIASES), synonyms=("Quelle", "Herkunft", "Source", "Lead source")),
    Column("description", gettext_lazy("Notes"), text(10_000), synonyms=("Notizen", "Notiz", "Bemerkung", "Bemerkungen", "Kommentar", "Notes", "Comment", "Description")),
    Column("organization", gettext_lazy("Organization"), text(200), synonyms=("Firma", "Unternehmen", "Organisation", "Firmenname", "Arbeitgeber", "Organization", "Organisation", "Company", "Company name", "Employer")),
    Column("position", gettext_lazy("Position"), text(100), synonyms=("Position", "Funktion", "Stelle", "Berufsbezeichnung", "Job title", "Role", "Title at company")),
    Column("department", gettext_lazy("Department"), text(100), synonyms=("Abteilung", "Bereich", "Department")),
)

ORGANIZATION_COLUMNS = (
    Column("name", gettext_lazy("Name"), text(200), required=True, synonyms=("Name", "Firma", "Firmenname", "Unternehmen", "Organisation", "Company", "Company name", "Organization", "Organisation")),
    Column("legal_form", gettext_lazy("Legal form"), choice(Organization.LegalForm, LEGAL_FORM_ALIASES), synonyms=("Rechtsform", "Legal form")),
    Column("industry", gettext_lazy("Industry"), choice(Organization.Industry, INDUSTRY_ALIASES), synonyms=("Branche", "Industrie", "Industry", "Sector")),
    Column("relationship", gettext_lazy("Relationship"), choice(Organization.Relationship, RELATIONSHIP_ALIASES), synonyms=("Beziehung", "Kundenstatus", "Typ", "Relationship", "Type", "Account type")),
    Column("website", gettext_lazy("Website"), website, synonyms=("Webseite", "Website", "Homepage", "Internet", "URL", "Web")),
    Column("phone", gettext_lazy("Phone"), phone, synonyms=("Telefon", "Tel", "Telefonnummer", "Zentrale", "Phone", "Telephone", "Phone number")),
    Column("email", gettext_lazy("Email"), email, synonyms=("E-Mail", "Email", "Mail", "E-Mail-Adresse", "Email address")),
    *_ADDRESS,
    Column("employees", gettext_lazy("Employees"), integer(10_000_000), synonyms=("Mitarbeiter", "Mitarbeiterzahl", "Anzahl Mitarbeiter", "Beschäftigte", "Employees", "Number of employees", "Headcount")),
    Column("annual_revenue", gettext_lazy("Annual revenue (EUR)"), amount, synonyms=("Umsatz", "Jahresumsatz", "Umsatz (EUR)", "Revenue", "Annual revenue", "Annual revenue (EUR)")),
    Column("description", gettext_lazy("Description"), text(10_000), synonyms=("Beschreibung", "Notizen", "Bemerkung", "Bemerkungen", "Description", "Notes")),
)


@dataclass(frozen=True)
class ImportTarget:
    """What a file can be imported into: its columns, how its duplicates are found and how its
    accepted lines are stored. contacts declares people and organizations; another app adds its own
    (sales: leads) with `register_target` and gets upload, mapping, preview, the Celery run and the
    report of rejected lines from here."""

    name: str  # an ImportJob.Target value
    columns: tuple[Column, ...]
    rules: type  # keys(values) -> set and existing(keys) -> set: what counts as already present
    write: Callable  # (chunk, *, owner_id, org_cache, outcome) stores a chunk of accepted lines
    summary: Callable[[dict], list[str]]  # the few values that name a line in the preview
    list_url: str  # the URL name of the list the imported records appear in (breadcrumbs)
    list_label: object
    show_label: object  # the button to the list after the import ("Show the people")
    models: tuple = ()  # their fields' verbose names (the export's headers) name columns too
    roles: tuple = IMPORT_ROLES  # who may import into it
    check: Callable[[dict], list[str]] | None = None  # reasons a converted line is refused as a whole
    # The export shapes (import_shapes) name the people's columns; the names that differ here.
    renames: dict = field(default_factory=dict)


TARGETS: dict[str, ImportTarget] = {}


def register_target(target: ImportTarget) -> None:
    TARGETS[target.name] = target
    _header_index.cache_clear()


def target_for(name: str) -> ImportTarget:
    return TARGETS[name]


def targets_for(user) -> list[ImportTarget]:
    """The targets the user may import into, in the order of ImportJob.Target."""
    return [TARGETS[value] for value in ImportJob.Target.values if value in TARGETS and has_role(user, *TARGETS[value].roles)]


def columns_for(target: str, user=None) -> tuple[Column, ...]:
    """The target's columns, and with `user` the custom fields they may fill (people and
    organizations: named "cf:<key>", checked by crm.customfields)."""
    columns = TARGETS[target].columns
    if user is None or target not in CUSTOM_FIELD_MODELS:
        return columns
    return (*columns, *(_custom_column(d, user) for d in customfields.definitions(CUSTOM_FIELD_MODELS[target], user)
                        if customfields.can_edit(d, user)))


CUSTOM_FIELD_MODELS = {"person": "contacts.person", "organization": "contacts.organization"}
CUSTOM_PREFIX = "cf:"


def _custom_column(definition, user) -> Column:
    def convert(raw: str):
        try:
            return customfields.clean_value(definition, raw, user=user)
        except ValidationError as error:
            raise CellError(" ".join(error.messages)) from None

    return Column(CUSTOM_PREFIX + definition.key, definition.label, convert, required=definition.required,
                  synonyms=(definition.key, definition.label_de, definition.label_en))


def custom_field_values(values: dict) -> dict:
    """The line's values with its custom-field columns gathered into `custom_fields`."""
    custom = {k[len(CUSTOM_PREFIX):]: values[k] for k in values if k.startswith(CUSTOM_PREFIX)}
    if not custom:
        return values
    return {**{k: v for k, v in values.items() if not k.startswith(CUSTOM_PREFIX)}, "custom_fields": custom}


@lru_cache(maxsize=8)
def _header_index(target: str) -> dict[str, str]:
    """Normalised header name -> column name, from the synonyms and the labels in both languages."""
    index: dict[str, str] = {}
    for column in columns_for(target):
        index.setdefault(normalize(column.name), column.name)
        for synonym in column.synonyms:
            index.setdefault(normalize(synonym), column.name)
    for language in ("en", "de"):
        with translation.override(language):
            for column in columns_for(target):
                index.setdefault(normalize(column.label), column.name)
                # The export's headers are the model fields' verbose names.
                for model in TARGETS[target].models:
                    try:
                        verbose_name = model._meta.get_field(column.name).verbose_name
                    except FieldDoesNotExist:
                        continue
                    index.setdefault(normalize(verbose_name), column.name)
                    break
    index.pop("", None)
    return index


def recognised_shape(headers: list[str]) -> str:
    """The name of the tool whose export header the file has ("Outlook (Deutsch)"), or ""."""
    shape, _columns = import_shapes.recognise(headers)
    return shape.name if shape else ""


def guess_mapping(target: str, headers: list[str], user=None) -> dict[str, int]:
    """Column name -> index of the CSV column, for the headers that name a known column.

    A header row of a known tool (import_shapes) is read by its declaration first; the other headers
    by the columns' synonyms. A full-name column is used only when neither a first-name nor a
    last-name column was found."""
    spec = TARGETS[target]
    columns = columns_for(target, user)
    known = {column.name for column in columns}
    _shape, shape_columns = import_shapes.recognise(headers)
    index = dict(_header_index(target))
    for column in columns[len(spec.columns):]:  # the custom fields: by key and label (not cached: they change)
        for name in column.synonyms:
            index.setdefault(normalize(name), column.name)
    index.pop("", None)
    mapping: dict[str, int] = {}
    for position, header in enumerate(headers):
        key = normalize(header)
        if key in shape_columns:
            name = shape_columns[key]
            name = spec.renames.get(name, name)
        else:
            name = index.get(key)
        if name and name in known and name not in mapping:
            mapping[name] = position
    if FULL_NAME in mapping and ("first_name" in mapping or "last_name" in mapping):
        del mapping[FULL_NAME]
    return mapping


# --- Reading the file ----------------------------------------------------------------------


@dataclass
class CsvInfo:
    encoding: str
    delimiter: str
    headers: list[str]
    sha256: str
    total_rows: int
    file_format: str = ImportJob.Format.CSV
    mapping: dict[str, int] | None = None  # None: guessed from the headers


def _raw(fileobj):
    """The binary file object under Django's File wrappers, for io.TextIOWrapper."""
    while isinstance(fileobj, File):
        fileobj = fileobj.file
    return fileobj


def _blocks(fileobj, size: int = 1 << 20) -> Iterator[bytes]:
    fileobj.seek(0)
    while block := fileobj.read(size):
        yield block


def _detect_encoding(fileobj) -> str:
    fileobj.seek(0)
    bom = fileobj.read(3) == codecs.BOM_UTF8
    for encoding in ("utf-8-sig",) if bom else ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for block in _blocks(fileobj):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ValidationError(
        _("The file is not readable text. Save it as CSV in UTF-8 (or Windows-1252) and upload it again."),
        code="encoding",
    )


def _detect_delimiter(sample: str) -> str:
    """The delimiter that splits the header line into the most columns; csv.Sniffer when unclear."""
    first_line = next(iter(sample.splitlines()), "")
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] > 1:
        return best
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ";"  # one column only: any delimiter reads it the same


@contextmanager
def _text_stream(fileobj, encoding: str):
    fileobj.seek(0)
    stream = io.TextIOWrapper(_raw(fileobj), encoding=encoding, newline="")
    try:
        yield stream
    finally:
        stream.detach()  # leave the underlying file open for its owner


def _records(stream, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number of the record's first line, cells) for each non-blank record after the header."""
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    header_found = False
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CsvLineError(start, error) from None
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if not header_found:
            header_found = True
            continue
        yield line, cells


def _read_header(stream, delimiter: str) -> list[str]:
    for cells in csv.reader(stream, delimiter=delimiter):
        if any(cell.strip() for cell in cells):
            return [cell.strip().lstrip("\ufeff") for cell in cells]
    return []


def _looks_like_data(value: str) -> bool:
    value = value.strip()
    return "@" in value or bool(_GERMAN_DATE.match(value) or _ISO_DATE.match(value)) or value.replace(" ", "").lstrip("+").isdigit()


def _checked_digest(fileobj, *, size: int, binary_message: str) -> str:
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 50 MB. Please split it into smaller files."), code="size")
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    digest = hashlib.sha256()
    for block in _blocks(fileobj):
        if b"\x00" in block:
            raise ValidationError(binary_message, code="binary")
        digest.update(block)
    return digest.hexdigest()


def inspect_upload(fileobj, *, name: str, size: int) -> CsvInfo:
    """Check an uploaded .csv, .xlsx or .vcf file and find how to read it. Raises ValidationError."""
    if name.lower().endswith((".vcf", ".vcard")):
        return inspect_vcard(fileobj, size=size)
    if name.lower().endswith(".xlsx"):
        return inspect_xlsx(fileobj, size=size)
    if name.lower().endswith((".xls", ".xlsm", ".xlsb", ".ods")):
        raise ValidationError(
            _("This spreadsheet format cannot be read. In Excel choose “Save as” → “Excel Workbook (.xlsx)” or “CSV UTF-8 (comma delimited)” and upload that file."),
            code="spreadsheet",
        )
    if not name.lower().endswith(".csv"):
        raise ValidationError(_("Please upload a .csv, an .xlsx (Excel) or a .vcf (vCard) file."), code="extension")
    return inspect_csv(fileobj, name=name, size=size)


def _digest(fileobj) -> str:
    digest = hashlib.sha256()
    for block in _blocks(fileobj):
        digest.update(block)
    return digest.hexdigest()


def inspect_xlsx(fileobj, *, size: int) -> CsvInfo:
    """An Excel workbook: the header and the number of lines of its first sheet (contacts.services.workbooks)."""
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 50 MB. Please split it into smaller files."), code="size")
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    raw = _raw(fileobj)
    headers = workbooks.read_header(raw, max_columns=MAX_COLUMNS)
    if not headers:
        raise ValidationError(_("The first sheet of the workbook is empty."), code="empty")
    _checked_header(headers, example=_("“Vorname | Nachname | E-Mail” in the first row"))
    total = sum(1 for _record in workbooks.records(raw, width=len(headers)))
    if total == 0:
        raise ValidationError(_("The file has a header line but no data lines."), code="empty")
    return CsvInfo(
        encoding="utf-8", delimiter=";", headers=headers, sha256=_digest(fileobj), total_rows=total,
        file_format=ImportJob.Format.XLSX,
    )


def _checked_header(headers: list[str], *, example: str) -> list[str]:
    if len(headers) > MAX_COLUMNS:
        raise ValidationError(
            _("The file has %(count)d columns; at most %(max)d are supported.") % {"count": len(headers), "max": MAX_COLUMNS},
            code="columns",
        )
    known = any(guess_mapping(target, headers) for target in TARGETS)
    if not known and any(_looks_like_data(h) for h in headers):
        raise ValidationError(
            _("The first line looks like data, not like column names. Please add a header line (e.g. %(example)s).")
            % {"example": example},
            code="no_header",
        )
    return headers


def inspect_vcard(fileobj, *, size: int) -> CsvInfo:
    """A vCard file: its cards become lines with the columns of vcards.VCARD_COLUMNS, mapped one to one."""
    sha256 = _checked_digest(fileobj, size=size, binary_message=_("This is not a vCard file (it contains binary data)."))
    encoding = _detect_encoding(fileobj)
    with _text_stream(fileobj, encoding) as stream:
        total = vcards.count_cards(stream)
    if total == 0:
        raise ValidationError(_("The file contains no vCard (no line “BEGIN:VCARD”)."), code="empty")
    labels = {column.name: column.label for column in PERSON_COLUMNS}
    return CsvInfo(
        encoding=encoding, delimiter=";", headers=[str(labels[name]) for name in vcards.VCARD_COLUMNS],
        sha256=sha256, total_rows=total, file_format=ImportJob.Format.VCARD,
        mapping={name: index for index, name in enumerate(vcards.VCARD_COLUMNS)},
    )


def inspect_csv(fileobj, *, name: str, size: int) -> CsvInfo:
    """Check an uploaded file and find its encoding, delimiter and header. Raises ValidationError."""
    if not name.lower().endswith(".csv"):
        raise ValidationError(_("Please upload a .csv file."), code="extension")
    sha256 = _checked_digest(fileobj, size=size, binary_message=_("This is not a CSV file (it contains binary data)."))
    encoding = _detect_encoding(fileobj)
    with _text_stream(fileobj, encoding) as stream:
        sample = stream.read(64 * 1024)
    if not sample.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    delimiter = _detect_delimiter(sample.lstrip("\ufeff\r\n"))
    with _text_stream(fileobj, encoding) as stream:
        headers = _read_header(stream, delimiter)
    total = 0
    try:
        with _text_stream(fileobj, encoding) as stream:
            for _line, _cells in _records(stream, delimiter):
                total += 1
    except CsvLineError as error:
        raise ValidationError(str(error), code="csv") from None
    _checked_header(headers, example="“Vorname;Nachname;E-Mail”")
    if total == 0:
        raise ValidationError(_("The file has a header line but no data lines."), code="empty")
    return CsvInfo(encoding=encoding, delimiter=delimiter, headers=headers, sha256=sha256, total_rows=total)


def import_create(*, target: str, upload, info: CsvInfo, user) -> ImportJob:
    """Store an uploaded file (checked by `inspect_upload`) as a new import with a guessed mapping."""
    job = ImportJob(
        target=target,
        file_format=info.file_format,
        original_name=upload.name[:255],
        file_sha256=info.sha256,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        mapping=info.mapping if info.mapping is not None else guess_mapping(target, info.headers, user),
        total_rows=info.total_rows,
        created_by=user,
    )
    upload.seek(0)
    job.file.save(upload.name, upload, save=False)
    job.save()
    return job


@contextmanager
def _job_records(job: ImportJob):
    if job.file_format == ImportJob.Format.XLSX:
        with job.file.open("rb") as fileobj, closing(workbooks.records(_raw(fileobj), width=len(job.headers))) as records:
            yield records
        return
    with job.file.open("rb") as fileobj, _text_stream(fileobj, job.encoding) as stream:
        if job.file_format == ImportJob.Format.VCARD:
            yield vcards.vcard_records(stream)
        else:
            yield _records(stream, job.delimiter)


def read_samples(job: ImportJob, count: int = 3) -> list[list[str]]:
    """The first data lines' cells, to show next to each column on the mapping page."""
    samples = []
    with _job_records(job) as records:
        for _line, cells in records:
            samples.append(cells)
            if len(samples) >= count:
                break
    return samples


# --- Validating a line ---------------------------------------------------------------------


@dataclass
class Row:
    line: int
    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class RowCleaner:
    """Converts the cells of one line into model values, collecting one reason per bad column."""

    def __init__(self, job: ImportJob):
        self.target = TARGETS[job.target]
        all_columns = columns_for(job.target, job.created_by)
        by_name = {column.name: column for column in all_columns}
        self.columns = [
            (by_name[name], int(index), self._header(job.headers, int(index)))
            for name, index in job.mapping.items()
            if name in by_name
        ]
        self.required = [(column, header) for column, _i, header in self.columns if column.required]
        mapped = {column.name for column, _i, _h in self.columns}
        # A required column left unmapped is refused by the mapping form; filled from the full name, it is not.
        self.required += [
            (column, str(column.label)) for column in self.target.columns
            if column.required and column.name not in mapped and FULL_NAME in mapped
        ]
        # A required custom field no column fills: every line lacks it (it has no default) or gets its default.
        self.defaults = {}
        if job.target in CUSTOM_FIELD_MODELS:
            for definition in customfields.definitions(CUSTOM_FIELD_MODELS[job.target], job.created_by):
                name = CUSTOM_PREFIX + definition.key
                if name in by_name and definition.default is not None:
                    self.defaults[name] = definition.default
                elif name in by_name and definition.required and name not in mapped:
                    self.required.append((by_name[name], str(by_name[name].label)))
        self.width = len(job.headers)
        self.second_email = next((header for column, _i, header in self.columns if column.name == "email_secondary"), "")
        self.target_columns = by_name
        self.labelled = self._labelled(job, by_name)
        routed = {name for _labelled, names in self.labelled for name in names}
        self.columns = [entry for entry in self.columns if entry[0].name not in routed]

    @staticmethod
    def _labelled(job: ImportJob, by_name: dict) -> list[tuple[import_shapes.LabelledColumns, frozenset]]:
        """The labelled pairs (Google's "Phone 2 - Label"/"Value") whose labels decide per line which
        column a value fills, with the columns they fill: those the mapping puts on one of the pairs' values."""
        found = []
        for labelled in import_shapes.labelled_columns(job.headers):
            names = frozenset(
                name for name, index in job.mapping.items()
                if name in labelled.columns and name in by_name and int(index) in labelled.value_indexes
            )
            if names:
                found.append((labelled, names))
        return found

    @staticmethod
    def _header(headers: list[str], index: int) -> str:
        if index < len(headers) and headers[index]:
            return headers[index]
        return _("column %(number)d") % {"number": index + 1}

    def clean(self, line: int, cells: list[str]) -> Row:
        row = Row(line)
        if isinstance(cells, vcards.BrokenCard):
            row.errors.append(cells.reason)
            return row
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width:]):
            row.errors.append(
                _("The line has %(found)d values but the header has %(expected)d columns (is a delimiter missing its quotes?).")
                % {"found": len(cells), "expected": self.width}
            )
            return row
        failed = set()
        raws = [(column, cells[index] if index < len(cells) else "", header) for column, index, header in self.columns]
        for labelled, names in self.labelled:
            raws += [
                (self.target_columns[name], raw, header)
                for name, (raw, header) in labelled.route(cells, names).items()
            ]
        for column, raw, header in raws:
            raw = _unquote_formula(raw.strip())
            if not raw:
                continue
            try:
                value = column.convert(raw)
            except CellError as error:
                failed.add(column.name)
                row.errors.append(_("Column “%(column)s”: %(problem)s") % {"column": header, "problem": error})
                continue
            if value is not None:
                row.values[column.name] = value
        for name, default in self.defaults.items():
            row.values.setdefault(name, default)
        full_name = row.values.pop(FULL_NAME, "")
        if full_name and not row.values.get("first_name") and not row.values.get("last_name"):
            row.values.update(split_full_name(full_name))
        for column, header in self.required:
            if not row.values.get(column.name) and column.name not in failed:
                row.errors.append(_("Column “%(column)s”: a value is required.") % {"column": header})
        if self.target.check and not row.errors:
            row.errors.extend(self.target.check(row.values))
        if row.values.get("email_secondary") and row.values.get("email_secondary") == row.values.get("email"):
            row.errors.append(
                _("Column “%(column)s”: the second email is the same as the first.") % {"column": self.second_email}
            )
        return row


def split_full_name(value: str) -> dict[str, str]:
    """ "Jörg Müller" -> Jörg / Müller, "Müller, Jörg" -> Jörg / Müller, "Cher" -> last name Cher."""
    if "," in value:
        last, _comma, first = value.partition(",")
    else:
        first, _space, last = value.rpartition(" ")
    first, last = " ".join(first.split()), " ".join(last.split())
    if not last:
        first, last = "", first
    return {"first_name": first[:100], "last_name": last[:100]} if first else {"last_name": last[:100]}


# --- Duplicates ----------------------------------------------------------------------------


class PersonRules:
    """People are the same when they share an email; without any email, name and address."""

    @staticmethod
    def keys(values: dict) -> set:
        emails = {values.get("email"), values.get("email_secondary")} - {None, ""}
        if emails:
            return {("email", e) for e in emails}
        return {
            (
                "name",
                person_name_key(values.get("first_name", ""), values["last_name"]),
                values.get("postal_code", "").lower(),
                values.get("city", "").lower(),
            )
        }

    @staticmethod
    def existing(keys: set) -> set:
        """The keys that belong to people in the database (emails are stored lower-case by Person.save)."""
        found = set()
        emails = [k[1] for k in keys if k[0] == "email"]
        if emails:
            for pair in Person.objects.filter(Q(email__in=emails) | Q(email_secondary__in=emails)).values_list(
                "email", "email_secondary"
            ):
                found.update(("email", e.lower()) for e in pair if e)
        names = {k[1] for k in keys if k[0] == "name"}
        if names:
            for name_key, postal_code, city in Person.objects.filter(name_key__in=names).values_list(
                "name_key", "postal_code", "city"
            ):
                found.add(("name", name_key, postal_code.lower(), city.lower()))
        return found & keys


class OrganizationRules:
    """Organizations are the same when their names match apart from legal form and spelling, in one country."""

    @staticmethod
    def keys(values: dict) -> set:
        return {("org", organization_name_key(values["name"]) or normalize(values["name"]), values.get("country", "DE"))}

    @staticmethod
    def existing(keys: set) -> set:
        names = {k[1] for k in keys}
        rows = Organization.objects.filter(name_key__in=names).values_list("name_key", "country")
        return {("org", name_key, country_code or "") for name_key, country_code in rows} & keys




def insert(model, objs: list) -> None:
    """Store `objs` and set their ids, inside the write transaction.

    On Postgres with one COPY into reserved ids (crm.bulk), several times as fast as
    `bulk_create`; elsewhere with `bulk_create`."""
    if not objs:
        return
    if connection.vendor == "postgresql":
        bulk.insert_objects(model, objs)
    else:
        model.objects.bulk_create(objs, batch_size=CHUNK_SIZE)
    changefeed.record_created(model, [obj.pk for obj in objs])


def _column_defaults(model) -> dict:
    """The value of each column that a new row gets when the import has none (timestamps apart)."""
    return {
        field.attname: field.get_default()
        for field in model._meta.concrete_fields
        if not field.primary_key and not _is_timestamp(field)
    }


def _is_timestamp(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or field.default is timezone.now


def _copy(model, rows: list[dict]) -> list[int]:
    """Postgres: store `rows` ({attname: value} with every column but the id and the timestamps)
    with one COPY after reserving their ids; returns the ids.

    For people and employments, which an import makes by the thousand: building model instances
    and sending every value through its field cost more than the COPY itself. Values are
    converted by their fields only where the database driver would not take them as they are
    (crm.bulk decides which), the timestamps are set as `save()` would."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    ids = bulk.reserve_ids(model, len(rows))
    convert = [
        (field.attname, _is_timestamp(field), field if bulk.needs_conversion(field) else None) for field in fields
    ]
    db = bulk.database()
    now = timezone.now()
    table_rows = []
    for pk, row in zip(ids, rows, strict=True):
        values = [pk]
        for attname, timestamp, converter in convert:
            value = now if timestamp else row[attname]
            values.append(value if converter is None else bulk.prepared(converter, value, db))
        table_rows.append(values)
    bulk.load_rows(model, [model._meta.pk, *fields], table_rows)
    changefeed.record_created(model, ids)
    return ids


def _organization_ids(names: dict[str, str], cache: dict[str, int], *, owner_id: int | None, created: list) -> None:
    """Fill `cache` (name key -> organization id) for `names` (name key -> name as written), creating what is missing."""
    missing = {key: name for key, name in names.items() if key not in cache}
    if not missing:
        return
    for key, pk in Organization.objects.filter(name_key__in=missing).order_by("pk").values_list("name_key", "pk"):
        cache.setdefault(key, pk)
    new = []
    for key, name in missing.items():
        if key not in cache:
            org = Organization(name=name, owner_id=owner_id)
            org.refresh_search_key()
            new.append(org)
    insert(Organization, new)
    for org in new:
        cache[org.name_key] = org.pk
    created.extend(new)


def _org_key(name: str) -> str:
    return organization_name_key(name) or normalize(name)


# --- Preview -------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    summary: str
    outcome: str  # "create", "present" or "rejected"
    reason: str = ""


def _person_summary(values: dict) -> list[str]:
    return [" ".join(p for p in [values.get("first_name", ""), values.get("last_name", "")] if p), values.get("email", ""), values.get("organization", "")]


def _organization_summary(values: dict) -> list[str]:
    return [values.get("name", ""), values.get("city", "")]


def _summary(target: str, values: dict, cells: list[str]) -> str:
    parts = TARGETS[target].summary(values)
    return " · ".join(p for p in parts if p) or " · ".join(c for c in cells[:3] if c.strip())


def import_preview(*, job: ImportJob, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """What the import would do with the first `limit` lines, without storing anything."""
    cleaner = RowCleaner(job)
    rules = TARGETS[job.target].rules
    rows: list[tuple[Row, list[str]]] = []
    with _job_records(job) as records:
        for line, cells in records:
            rows.append((cleaner.clean(line, cells), cells))
            if len(rows) >= limit:
                break
    valid = [row for row, _cells in rows if not row.errors]
    all_keys = set().union(*(rules.keys(row.values) for row in valid)) if valid else set()
    existing = rules.existing(all_keys)
    org_names = {_org_key(r.values["organization"]) for r in valid if r.values.get("organization")}
    known_orgs = set(Organization.objects.filter(name_key__in=org_names).values_list("name_key", flat=True)) if org_names else set()
    seen: set = set()
    preview = []
    for row, cells in rows:
        summary = _summary(job.target, row.values, cells)
        if row.errors:
            preview.append(PreviewRow(row.line, summary, "rejected", " ".join(row.errors)))
            continue
        keys = rules.keys(row.values)
        if keys & existing:
            preview.append(PreviewRow(row.line, summary, "present", _("Already in the CRM.")))
        elif keys & seen:
            preview.append(PreviewRow(row.line, summary, "present", _("Repeats an earlier line of this file.")))
        else:
            note = ""
            organization = row.values.get("organization")
            if organization:
                if _org_key(organization) in known_orgs:
                    note = _("Linked to the existing organization “%(name)s”.") % {"name": organization}
                else:
                    note = _("The organization “%(name)s” will be created.") % {"name": organization}
            preview.append(PreviewRow(row.line, summary, "create", note))
        seen |= keys
    return preview


# --- Running -------------------------------------------------------------------------------


def import_start(*, job: ImportJob) -> bool:
    """Queue a mapped import. False when it was already started."""
    from contacts.tasks import import_run as import_run_task

    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.MAPPED).update(
        status=ImportJob.Status.QUEUED, message="", heartbeat_at=timezone.now()
    )
    if queued:
        job.status = ImportJob.Status.QUEUED
        transaction.on_commit(lambda: import_run_task.delay(job.pk))
    return bool(queued)


class _TakenOver(Exception):
    """The job was resumed elsewhere while this run was silent: this run stops without writing."""


class _Run:
    """One claimed run of a job. Every write it makes (progress, heartbeat, a chunk's checkpoint, the
    result) is guarded by the job's `interruptions` count at claim time: once the job has been
    resumed by another run, this one can no longer change anything."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.attempt = job.interruptions
        self._last_beat = time.monotonic()

    def update(self, **fields) -> None:
        updated = ImportJob.objects.filter(
            pk=self.job.pk, status=ImportJob.Status.RUNNING, interruptions=self.attempt
        ).update(heartbeat_at=timezone.now(), **fields)
        if not updated:
            raise _TakenOver
        self._last_beat = time.monotonic()

    def beat_due(self) -> bool:
        return time.monotonic() - self._last_beat >= ImportJob.HEARTBEAT_SECONDS


@dataclass
class _Outcome:
    created: int = 0
    skipped: int = 0
    organizations_created: int = 0


def _validate(run: _Run, spool) -> tuple[int, list[dict]]:
    """Pass 1: check every line, spool the values of the accepted ones. Returns (repeated lines, errors).

    Deterministic for a file and its mapping, so that a resumed run spools the same lines in the
    same order and can skip those an earlier run has committed."""
    job = run.job
    cleaner = RowCleaner(job)
    rules = TARGETS[job.target].rules
    seen: set = set()
    errors: list[dict] = []
    repeated = processed = 0
    with _job_records(job) as records:
        for line, cells in records:
            row = cleaner.clean(line, cells)
            processed += 1
            if row.errors:
                errors.append({"line": line, "reason": " ".join(row.errors)})
            else:
                keys = rules.keys(row.values)
                if keys & seen:
                    repeated += 1
                else:
                    seen |= keys
                    spool.write(json.dumps(row.values, ensure_ascii=False))
                    spool.write("\n")
            if processed % PROGRESS_EVERY == 0 or run.beat_due():
                run.update(processed_rows=processed)
    run.update(processed_rows=processed, total_rows=processed)
    return repeated, errors


def _chunks(spool, *, skip: int = 0) -> Iterator[list[dict]]:
    """The spooled lines in chunks of CHUNK_SIZE, after the first `skip` lines."""
    spool.seek(0)
    chunk: list[dict] = []
    for index, text_line in enumerate(spool):
        if index < skip:
            continue
        chunk.append(json.loads(text_line))
        if len(chunk) >= CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def not_present(rules, chunk: list[dict]) -> list[dict]:
    """The lines of `chunk` whose records are not in the database yet: one lookup for the whole chunk."""
    keyed = [(rules.keys(values), values) for values in chunk]
    existing = rules.existing(set().union(*(keys for keys, _values in keyed)))
    return [values for keys, values in keyed if not keys & existing]


_EMPLOYMENT_FIELDS = ("organization", "position", "department")
_PHONE_FIELDS = {"phone", "mobile"}


def _write_people(chunk: list[dict], *, owner_id: int | None, org_cache: dict, outcome: _Outcome) -> None:
    new = not_present(PersonRules, chunk)
    outcome.skipped += len(chunk) - len(new)
    org_names: dict[str, str] = {}
    for values in new:
        if values.get("organization"):
            org_names.setdefault(_org_key(values["organization"]), values["organization"])  # first spelling wins
    created_orgs: list = []
    _organization_ids(org_names, org_cache, owner_id=owner_id, created=created_orgs)
    outcome.organizations_created += len(created_orgs)
    if connection.vendor == "postgresql":
        person_ids = _copy_people(new, owner_id=owner_id)
    else:
        people = [_person(values, owner_id=owner_id) for values in new]
        insert(Person, people)
        person_ids = [person.pk for person in people]
    employments = [
        {
            "person_id": person_id,
            "organization_id": org_cache[_org_key(values["organization"])],
            "position": values.get("position", ""),
            "department": values.get("department", ""),
            "is_primary": True,
        }
        for person_id, values in zip(person_ids, new, strict=True)
        if values.get("organization")
    ]
    if connection.vendor == "postgresql":
        if employments:
            _copy(Employment, [{**_column_defaults(Employment), **row} for row in employments])
    else:
        insert(Employment, [Employment(**row) for row in employments])
    outcome.created += len(person_ids)


def _person_values(values: dict, *, owner_id: int | None) -> dict:
    fields = {"source": Person.Source.IMPORT,
              **{k: v for k, v in custom_field_values(values).items() if k not in _EMPLOYMENT_FIELDS}}
    for name in _PHONE_FIELDS.intersection(fields):
        fields[name] = _checked_phone(fields[name])
    fields["owner_id"] = owner_id
    return fields


def _person(values: dict, *, owner_id: int | None) -> Person:
    person = Person(**_person_values(values, owner_id=owner_id))
    person.refresh_search_key()
    return person


def _copy_people(new: list[dict], *, owner_id: int | None) -> list[int]:
    """Postgres: store the people of a chunk with COPY, without building them with Model.__init__.

    Each row is every column's default overlaid with the line's values; its search keys come from
    the model's own `refresh_search_key()`, called on a bare instance holding exactly those values."""
    if not new:
        return []
    defaults = _column_defaults(Person)
    rows = []
    for values in new:
        row = {**defaults, **_person_values(values, owner_id=owner_id)}
        bare = Person.__new__(Person)  # no __init__: the attributes are the row, set below
        bare.__dict__.update(row)
        bare.refresh_search_key()
        row["search_key"], row["name_key"] = bare.search_key, bare.name_key
        rows.append(row)
    return _copy(Person, rows)


_ADDRESS_FIELDS = ("street", "postal_code", "city")


def _write_organizations(chunk: list[dict], *, owner_id: int | None, org_cache: dict, outcome: _Outcome) -> None:
    new = not_present(OrganizationRules, chunk)
    outcome.skipped += len(chunk) - len(new)
    organizations = []
    for values in new:
        fields = {k: v for k, v in custom_field_values(values).items() if k not in _ADDRESS_FIELDS}
        if "phone" in fields:
            fields["phone"] = _checked_phone(fields["phone"])
        org = Organization(owner_id=owner_id, **fields)
        org.refresh_search_key()
        organizations.append(org)
    insert(Organization, organizations)
    addresses = [
        OrganizationAddress(
            organization_id=org.pk,
            kind=OrganizationAddress.Kind.MAIN,
            country=org.country or "DE",
            **{k: values[k] for k in _ADDRESS_FIELDS if values.get(k)},
        )
        for org, values in zip(organizations, new, strict=True)
        if any(values.get(k) for k in _ADDRESS_FIELDS)
    ]
    insert(OrganizationAddress, addresses)
    outcome.created += len(organizations)


def _write(run: _Run, spool) -> _Outcome:
    """Pass 2: store the accepted lines, one transaction per chunk. Each transaction also moves the
    job's checkpoint (`written_rows`) and counts, so a run killed at any moment leaves either a whole
    chunk with its checkpoint or neither: the resumed run continues after the checkpoint and stores
    every line exactly once. `not_present` would skip a stored line anyway (as "already present")."""
    job = run.job
    outcome = _Outcome()
    org_cache: dict[str, int] = {}
    for chunk in _chunks(spool, skip=job.written_rows):
        chunk_outcome = _Outcome()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Two imports at once must not both create the same person (email is not unique).
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_BASE])
            TARGETS[job.target].write(chunk, owner_id=job.created_by_id, org_cache=org_cache, outcome=chunk_outcome)
            # A run that was taken over meanwhile finds no job to update: the chunk is rolled back.
            run.update(
                written_rows=F("written_rows") + len(chunk),
                created_count=F("created_count") + chunk_outcome.created,
                skipped_count=F("skipped_count") + chunk_outcome.skipped,
            )
        outcome.created += chunk_outcome.created
        outcome.skipped += chunk_outcome.skipped
        outcome.organizations_created += chunk_outcome.organizations_created
    return outcome


def import_run(*, job: ImportJob) -> bool:
    """Run a queued import, or resume an interrupted one after the lines it has committed.
    Idempotent: False (and nothing done) unless this call claimed the job."""
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, processed_rows=0, message="", heartbeat_at=timezone.now()
    )
    if not claimed:
        return False
    job.refresh_from_db()
    run = _Run(job)
    try:
        with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
            repeated, errors = _validate(run, spool)
            outcome = _write(run, spool)
        message = ""
        if outcome.organizations_created:
            message = ngettext(
                "%(count)d organization was created for the people's employers.",
                "%(count)d organizations were created for the people's employers.",
                outcome.organizations_created,
            ) % {"count": outcome.organizations_created}
        run.update(
            status=ImportJob.Status.DONE,
            skipped_count=F("skipped_count") + repeated,
            rejected_count=len(errors),
            errors=errors,
            message=message,
            finished_at=timezone.now(),
        )
    except _TakenOver:
        logger.warning("Import %s was resumed by another run; this run stops", job.pk)
    except Exception as error:  # a background job must record any failure for its page
        logger.exception("Import %s failed", job.pk)
        written = ImportJob.objects.filter(pk=job.pk).values_list("written_rows", flat=True).first() or 0
        ImportJob.objects.filter(pk=job.pk, interruptions=run.attempt).update(
            status=ImportJob.Status.FAILED,
            message=_failure_message(error, saved=written),
            finished_at=timezone.now(),
        )
    return True


def _failure_message(error: Exception, *, saved: int = 0) -> str:
    if isinstance(error, (CsvLineError, UnicodeDecodeError)):
        detail = str(error)
    elif isinstance(error, (FileNotFoundError, OSError)):
        detail = _("the uploaded file can no longer be read")
    else:
        detail = _("an unexpected error occurred (%(kind)s)") % {"kind": type(error).__name__}
    if not saved:
        return _("The import failed: %(detail)s. Nothing was saved.") % {"detail": detail}
    return ngettext(
        "The import stopped: %(detail)s. The first %(count)d line was saved; importing the file again adds only the rest.",
        "The import stopped: %(detail)s. The first %(count)d lines were saved; importing the file again adds only the rest.",
        saved,
    ) % {"detail": detail, "count": saved}


# A message that never reached a worker: queued this long without a run, the job is queued again.
QUEUED_LOST_AFTER = timedelta(minutes=15)
IMPORT_FILE_RETENTION = timedelta(days=30)


def imports_resume_stalled(*, now=None) -> list[int]:
    """Running jobs whose heartbeat is older than CRM_IMPORT_STALLED_SECONDS (the worker died) and
    queued jobs no worker took for QUEUED_LOST_AFTER (the message was lost) go back to the queue.
    Called every minute by beat and when a worker starts. Safe: a resumed run continues after the
    committed lines, and the run it replaces can write nothing more. Returns the ids to enqueue."""
    now = now or timezone.now()
    dead = Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.CRM_IMPORT_STALLED_SECONDS))
    lost = Q(status=ImportJob.Status.QUEUED, heartbeat_at__lt=now - QUEUED_LOST_AFTER)
    ids = []
    for job_id, status in ImportJob.objects.filter(dead | lost).values_list("pk", "status"):
        # The same condition again: a job that sent a heartbeat in between is left alone.
        resumed = ImportJob.objects.filter(dead | lost, pk=job_id).update(
            status=ImportJob.Status.QUEUED,
            heartbeat_at=now,
            interruptions=F("interruptions") + (1 if status == ImportJob.Status.RUNNING else 0),
        )
        if resumed:
            ids.append(job_id)
    return ids


def import_files_purge(*, now=None) -> int:
    """Uploaded files hold personal data: finished imports keep their report, not their file."""
    now = now or timezone.now()
    finished = ImportJob.objects.filter(
        status__in=[ImportJob.Status.DONE, ImportJob.Status.FAILED], finished_at__lt=now - IMPORT_FILE_RETENTION
    ).exclude(file="")
    purged = 0
    for job in finished.iterator():
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")
        purged += 1
    return purged


# --- The targets of contacts ---------------------------------------------------------------

register_target(
    ImportTarget(
        ImportJob.Target.PEOPLE, PERSON_COLUMNS, PersonRules, _write_people, _person_summary,
        list_url="contacts:person_list", list_label=gettext_lazy("People"), show_label=gettext_lazy("Show the people"),
        models=(Person,),
    )
)
register_target(
    ImportTarget(
        ImportJob.Target.ORGANIZATIONS, ORGANIZATION_COLUMNS, OrganizationRules, _write_organizations, _organization_summary,
        list_url="contacts:organization_list", list_label=gettext_lazy("Organizations"),
        show_label=gettext_lazy("Show the organizations"),
        models=(Organization, OrganizationAddress), renames={"organization": "name"},
    )
)
