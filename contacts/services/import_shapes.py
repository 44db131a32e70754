"""The header rows that the tools people export from really write, one declaration per tool.

Each shape names the headers that identify it (`signature`, all present) and, for every header of the
tool that holds something the CRM keeps, the import column it fills. The column names are those of
the people import (contacts.services.importing.PERSON_COLUMNS); other targets rename the few that
differ (a lead's "company" is the people's "organization"). A header mapped to None is never guessed,
not even by the generic synonyms, because its values do not fit the column of the same name (Outlook's
"Title" holds "Dr." or "Herr", HubSpot's "Lifecycle Stage" has its own stages).

Headers not listed fall back to the generic synonyms of the columns. Sources of the header rows:
Outlook's CSV export ("Comma Separated Values") in English and German, Google Contacts' "Google CSV"
(the current and the older "Given Name"/"Family Name" layout), HubSpot's contacts export, Pipedrive's
people export ("Person - ..."), Salesforce's contacts and leads reports and its Data Loader export
(API names). Apple Contacts exports vCards, which contacts.services.vcards reads.

Google Contacts writes each phone number as a pair of columns, "Phone 1 - Label" and "Phone 1 -
Value", then "Phone 2 - ..." and so on, in the order the numbers were entered: which one is the
mobile number is said by the label, not by the position. Such pairs are declared as `LabelledValues`:
for every line, the label of each pair decides which column its value fills (`PHONE_LABELS`).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from crm.text import unaccent


@dataclass(frozen=True)
class LabelledValues:
    """Numbered pairs of columns, a label and a value ("Phone 2 - Label", "Phone 2 - Value")."""

    value: str  # the value's header with {n} for the number
    label: str
    labels: dict[str, str | None]  # label -> the import column its value fills (None: not imported)
    otherwise: str | None  # the column for a label not in `labels` (a label of the user's own)


@dataclass(frozen=True)
class ExportShape:
    name: str
    signature: tuple[str, ...]
    columns: dict[str, str | None]
    labelled: tuple[LabelledValues, ...] = ()


# The labels of Google Contacts' phone numbers (English, and German as a German account exports them),
# and the column each fills. The CRM keeps one phone and one mobile number: the first number of a
# line with a label for a column fills it; later ones for the same column are not imported.
PHONE_LABELS: dict[str, str | None] = {
    "Mobile": "mobile", "Mobil": "mobile", "Handy": "mobile", "Cell": "mobile",
    "Work": "phone", "Arbeit": "phone", "Geschäftlich": "phone", "Main": "phone", "Hauptnummer": "phone",
    "Home": "phone", "Privat": "phone", "Other": "phone", "Sonstige": "phone", "": "phone",
    "Work Fax": None, "Fax (geschäftlich)": None, "Home Fax": None, "Fax (privat)": None, "Other Fax": None,
    "Pager": None, "Google Voice": "phone",
}
_GOOGLE_PHONES = LabelledValues("Phone {n} - Value", "Phone {n} - Label", PHONE_LABELS, otherwise="phone")
_GOOGLE_OLD_PHONES = LabelledValues("Phone {n} - Value", "Phone {n} - Type", PHONE_LABELS, otherwise="phone")


_OUTLOOK_EN_ADDRESS = {
    # The business address and phone: a CRM keeps where people work.
    "Business Street": "street", "Business City": "city", "Business Postal Code": "postal_code",
    "Business Country/Region": "country", "Business Phone": "phone",
}

_HUBSPOT = {
    "Record ID": None, "First Name": "first_name", "Last Name": "last_name", "Email": "email",
    "Phone Number": "phone", "Mobile Phone Number": "mobile", "Company Name": "organization", "Job Title": "position",
    "Street Address": "street", "City": "city", "Postal Code": "postal_code", "Country/Region": "country",
    "State/Region": None, "Lifecycle Stage": None, "Lead Status": None, "Contact owner": None,
    "Create Date": None, "Last Activity Date": None, "Original Source": None, "Associated Company": None,
}

SHAPES: tuple[ExportShape, ...] = (
    ExportShape(
        "Outlook (Deutsch)",
        signature=("Vorname", "Nachname", "Straße geschäftlich", "Telefon geschäftlich"),
        columns={
            "Anrede": None, "Vorname": "first_name", "Weitere Vornamen": None, "Nachname": "last_name", "Suffix": None,
            "Firma": "organization", "Abteilung": "department", "Position": "position",
            "Straße geschäftlich": "street", "Ort geschäftlich": "city", "Postleitzahl geschäftlich": "postal_code",
            "Land/Region geschäftlich": "country", "Region geschäftlich": None,
            "Straße privat": None, "Ort privat": None, "Postleitzahl privat": None, "Land/Region privat": None,
            "Telefon geschäftlich": "phone", "Mobiltelefon": "mobile", "Telefon privat": None, "Telefon (privat)": None,
            "Telefon Firma": None, "Haupttelefon": None, "Weiteres Telefon": None,
            "E-Mail-Adresse": "email", "E-Mail 2: Adresse": "email_secondary", "E-Mail-Typ": None, "E-Mail: Angezeigter Name": None,
            "Geburtstag": "birthday", "Jahrestag": None, "Notizen": "description", "Webseite": None, "Kategorien": None,
            "Geschlecht": None, "Priorität": None, "Vertraulichkeit": None, "Initialen": None, "Beruf": None,
            # Outlook's own fields whose German names the generic synonyms would misread ("Ort" is the
            # location of the contact's office, not the city of the address).
            "Ort": None, "Sprache": None, "Büro": None, "Konto": None, "Stichwörter": None, "Privat": None,
            "Partner": None, "Kinder": None, "Hobby": None,
        },
    ),
    ExportShape(
        "Outlook (English)",
        signature=("First Name", "Last Name", "Business Street", "Business Phone"),
        columns={
            "Title": None, "First Name": "first_name", "Middle Name": None, "Last Name": "last_name", "Suffix": None,
            "Company": "organization", "Department": "department", "Job Title": "position",
            **_OUTLOOK_EN_ADDRESS, "Business State": None,
            "Home Street": None, "Home City": None, "Home Postal Code": None, "Home Country/Region": None,
            "Mobile Phone": "mobile", "Home Phone": None, "Company Main Phone": None, "Primary Phone": None, "Other Phone": None,
            "E-mail Address": "email", "E-mail 2 Address": "email_secondary", "E-mail Type": None, "E-mail Display Name": None,
            "Birthday": "birthday", "Anniversary": None, "Notes": "description", "Web Page": None, "Categories": None,
            "Gender": None, "Priority": None, "Sensitivity": None, "Initials": None, "Profession": None,
            "Location": None, "Language": None, "Office Location": None, "Account": None, "Keywords": None,
            "Private": None, "Spouse": None, "Children": None, "Hobby": None,
        },
    ),
    ExportShape(
        "Google Contacts",
        signature=("First Name", "Last Name", "E-mail 1 - Value"),
        columns={
            "First Name": "first_name", "Middle Name": None, "Last Name": "last_name", "Name Prefix": None, "Name Suffix": None,
            "Nickname": None, "File As": None, "Organization Name": "organization", "Organization Title": "position",
            "Organization Department": "department", "Birthday": "birthday", "Notes": "description", "Labels": None,
            "E-mail 1 - Value": "email", "E-mail 2 - Value": "email_secondary", "E-mail 1 - Label": None,
            # The mapping page shows the first two numbers as phone and mobile; the labels decide per line.
            "Phone 1 - Value": "phone", "Phone 1 - Label": None, "Phone 2 - Value": "mobile", "Phone 2 - Label": None,
            "Address 1 - Street": "street", "Address 1 - City": "city", "Address 1 - Postal Code": "postal_code",
            "Address 1 - Country": "country", "Address 1 - Formatted": None, "Address 1 - Region": None, "Address 1 - Label": None,
        },
        labelled=(_GOOGLE_PHONES,),
    ),
    ExportShape(
        "Google Contacts (older layout)",
        signature=("Given Name", "Family Name", "E-mail 1 - Value"),
        columns={
            "Name": "full_name", "Given Name": "first_name", "Additional Name": None, "Family Name": "last_name",
            "Name Prefix": None, "Name Suffix": None, "Nickname": None, "Birthday": "birthday", "Gender": None,
            "Notes": "description", "Group Membership": None, "Occupation": None, "Language": None, "Priority": None,
            "E-mail 1 - Value": "email", "E-mail 2 - Value": "email_secondary", "E-mail 1 - Type": None,
            "Phone 1 - Value": "phone", "Phone 1 - Type": None, "Phone 2 - Value": "mobile", "Phone 2 - Type": None,
            "Address 1 - Street": "street", "Address 1 - City": "city", "Address 1 - Postal Code": "postal_code",
            "Address 1 - Country": "country", "Address 1 - Formatted": None, "Address 1 - Region": None,
            "Organization 1 - Name": "organization", "Organization 1 - Title": "position",
            "Organization 1 - Department": "department", "Organization 1 - Type": None,
        },
        labelled=(_GOOGLE_OLD_PHONES,),
    ),
    ExportShape("HubSpot", signature=("Record ID", "First Name", "Last Name", "Email"), columns=_HUBSPOT),
    ExportShape(
        # Older HubSpot exports name the id "Contact ID".
        "HubSpot (older export)",
        signature=("Contact ID", "First Name", "Last Name", "Lifecycle Stage"),
        columns={**_HUBSPOT, "Contact ID": None},
    ),
    ExportShape(
        "Pipedrive",
        signature=("Person - Name",),
        columns={
            "Person - Name": "full_name", "Person - First name": "first_name", "Person - Last name": "last_name",
            "Person - Organization": "organization", "Person - Job title": "position", "Person - Title": "position",
            "Person - Email - Work": "email", "Person - Email - Home": "email_secondary", "Person - Email - Other": None,
            "Person - Phone - Work": "phone", "Person - Phone - Mobile": "mobile", "Person - Phone - Home": None,
            "Person - Phone - Other": None, "Person - Postal address": None, "Person - Label": None, "Person - Owner": None,
            "Person - ID": None, "Person - Notes": "description", "Person - Birthday": "birthday",
        },
    ),
    ExportShape(
        "Salesforce (contacts)",
        signature=("First Name", "Last Name", "Mailing Street"),
        columns={
            "Salutation": None, "First Name": "first_name", "Last Name": "last_name", "Title": "position",
            "Account Name": "organization", "Department": "department", "Email": "email", "Phone": "phone", "Mobile": "mobile",
            "Mailing Street": "street", "Mailing City": "city", "Mailing Zip/Postal Code": "postal_code",
            "Mailing Country": "country", "Mailing State/Province": None, "Birthdate": "birthday", "Lead Source": "source",
            "Description": "description", "Contact Owner": None, "Contact ID": None,
        },
    ),
    ExportShape(
        "Salesforce (leads)",
        signature=("First Name", "Last Name", "Company / Account"),
        columns={
            "Salutation": None, "First Name": "first_name", "Last Name": "last_name", "Title": "position",
            "Company / Account": "organization", "Email": "email", "Phone": "phone", "Mobile": "mobile",
            "Street": "street", "City": "city", "Zip/Postal Code": "postal_code", "Country": "country",
            "State/Province": None, "Lead Source": "source", "Lead Status": None, "Rating": "rating", "Industry": None,
            "Description": "description", "Lead Owner": None,
        },
    ),
    ExportShape(
        # API names; headers are compared without spaces, so "FirstName" alone would match any "First name".
        "Salesforce (Data Loader)",
        signature=("Id", "FirstName", "LastName"),
        columns={
            "Salutation": None, "FirstName": "first_name", "LastName": "last_name", "Title": "position",
            "Company": "organization", "Department": "department", "Email": "email", "Phone": "phone", "MobilePhone": "mobile",
            "MailingStreet": "street", "MailingCity": "city", "MailingPostalCode": "postal_code", "MailingCountry": "country",
            "Street": "street", "City": "city", "PostalCode": "postal_code", "Country": "country",
            "Birthdate": "birthday", "LeadSource": "source", "Status": None, "Rating": "rating", "Industry": None,
            "Description": "description", "Id": None, "AccountId": None, "OwnerId": None,
        },
    ),
)


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _key(header: str) -> str:
    """As importing.normalize: ignoring case, accents, spaces and punctuation."""
    return _NON_ALNUM.sub("", unaccent(str(header)))


@lru_cache(maxsize=1)
def _indexed() -> tuple[tuple[ExportShape, frozenset, dict], ...]:
    return tuple(
        (shape, frozenset(_key(h) for h in shape.signature), {_key(h): column for h, column in shape.columns.items()})
        for shape in SHAPES
    )


def recognise(headers: list[str]) -> tuple[ExportShape | None, dict[str, str | None]]:
    """The first shape whose signature the headers contain, and its columns by normalised header."""
    present = {_key(h) for h in headers}
    for shape, signature, columns in _indexed():
        if signature <= present:
            return shape, columns
    return None, {}


@dataclass(frozen=True)
class LabelledColumns:
    """Where a file has the pairs of a LabelledValues: (value index, label index, value header) per pair."""

    pairs: tuple[tuple[int, int, str], ...]
    labels: dict[str, str | None]  # by normalised label
    otherwise: str | None

    @property
    def value_indexes(self) -> frozenset[int]:
        return frozenset(value for value, _label, _header in self.pairs)

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(column for column in (*self.labels.values(), self.otherwise) if column)

    def route(self, cells: list[str], into: frozenset[str]) -> dict[str, tuple[str, str]]:
        """Import column (of `into`) -> (value, its header) for one line.

        Each column gets the first value whose label names it; a value whose label names a column not
        imported (the mapping leaves "mobile" out) then fills a column of `into` still empty, so that a
        file with one phone column per person keeps its numbers."""
        routed: dict[str, tuple[str, str]] = {}
        spare = []
        for value_index, label_index, header in self.pairs:
            value = cells[value_index].strip() if value_index < len(cells) else ""
            if not value:
                continue
            label = cells[label_index] if label_index < len(cells) else ""
            key = _key(label.strip().removeprefix("*"))  # Google marks the primary value "* Mobile"
            column = self.labels[key] if key in self.labels else self.otherwise
            if column in into and column not in routed:
                routed[column] = (value, header)
            elif column and column not in into:
                spare.append((value, header))
        for column in sorted(into - routed.keys()):
            if spare:
                routed[column] = spare.pop(0)
        return routed


def labelled_columns(headers: list[str]) -> list[LabelledColumns]:
    """The labelled pairs of the shape the headers are recognised as, in the order of their numbers."""
    shape, _columns = recognise(headers)
    if shape is None:
        return []
    positions = {_key(h): index for index, h in reversed(list(enumerate(headers)))}
    found = []
    for labelled in shape.labelled:
        pairs = []
        for n in range(1, len(headers) + 1):
            value, label = _key(labelled.value.format(n=n)), _key(labelled.label.format(n=n))
            if value not in positions or label not in positions:
                break
            pairs.append((positions[value], positions[label], headers[positions[value]]))
        if pairs:
            found.append(LabelledColumns(tuple(pairs), {_key(k): v for k, v in labelled.labels.items()}, labelled.otherwise))
    return found
