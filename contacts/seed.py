"""Demo and benchmark data for contacts: German companies, their people, and 18 months of history.

One code path for every size. Names, streets and other pools are drawn from Faker once; rows are
combined from the pools and written in bulk (see Writer), 5,000 people with their organizations'
links, tags and activities per transaction, so 100,000 people take a minute or two rather than
an hour. Data sets up to HISTORY_LIMIT people also get their history records (writing in bulk
skips the signals that would write them).

Besides the random rows, a few showcase records make the demo tell its story: "Jürgen Müller"
(found as mueller, Muller and Müller), "Anna Schmidt" (found as Schmitt on Postgres), duplicates
for the duplicates page, and tasks due today and overdue for every sales rep.
"""

import math
import re
import time
from bisect import bisect
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from itertools import accumulate

from django.db import connection, connections, transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from contacts.dedupe import organization_name_key
from contacts.models import Activity, Employment, Organization, OrganizationAddress, Person, Tag
from crm import bulk
from crm.roles import Role
from crm.seeding import Seeder, register
from crm.text import unaccent

BATCH_SIZE = 5_000
HISTORY_LIMIT = 5_000
MIN_ORGANIZATIONS = 60
ACTIVITIES_PER_PERSON = 3
POOL_SIZE = 2_000

Industry = Organization.Industry
LegalForm = Organization.LegalForm
Relationship = Organization.Relationship
Lifecycle = Person.Lifecycle
Source = Person.Source
Kind = Activity.Kind

# fmt: off
CALLING_CODES = {"DE": 49, "AT": 43, "CH": 41}
MOBILE_PREFIXES = {
    "DE": ["151", "152", "157", "159", "160", "162", "170", "171", "172", "173", "175", "176", "177", "178", "179"],
    "AT": ["664", "676", "699"],
    "CH": ["76", "78", "79"],
}
MOBILE_DIGITS = {"DE": 8, "AT": 7, "CH": 7}


@dataclass(frozen=True)
class City:
    name: str
    country: str
    postal_first: int
    postal_last: int
    area_code: str
    subscriber_digits: int
    weight: int
    postal_step: int = 1

    def postal_code(self, rng) -> str:
        code = rng.randrange(self.postal_first, self.postal_last + 1, self.postal_step)
        return f"{code:05d}" if self.country == "DE" else str(code)


def _de(name: str, first: int, last: int, area: str, weight: int) -> City:
    # German numbers in these areas have ten national digits: area code plus subscriber number.
    return City(name, "DE", first, last, area, 10 - len(area), weight)


CITIES = [
    _de("Berlin", 10115, 14199, "30", 37),
    _de("Hamburg", 20095, 22769, "40", 19),
    _de("München", 80331, 81929, "89", 15),
    _de("Köln", 50667, 51149, "221", 11),
    _de("Frankfurt am Main", 60306, 60599, "69", 8),
    _de("Stuttgart", 70173, 70629, "711", 6),
    _de("Düsseldorf", 40210, 40629, "211", 6),
    _de("Leipzig", 4103, 4357, "341", 6),
    _de("Dortmund", 44135, 44388, "231", 6),
    _de("Essen", 45127, 45359, "201", 6),
    _de("Bremen", 28195, 28779, "421", 6),
    _de("Dresden", 1067, 1328, "351", 6),
    _de("Hannover", 30159, 30669, "511", 5),
    _de("Nürnberg", 90402, 90491, "911", 5),
    _de("Duisburg", 47051, 47279, "203", 5),
    _de("Bochum", 44787, 44894, "234", 4),
    _de("Wuppertal", 42103, 42399, "202", 4),
    _de("Bielefeld", 33602, 33739, "521", 3),
    _de("Bonn", 53111, 53229, "228", 3),
    _de("Münster", 48143, 48167, "251", 3),
    _de("Karlsruhe", 76131, 76229, "721", 3),
    _de("Mannheim", 68159, 68309, "621", 3),
    _de("Augsburg", 86150, 86199, "821", 3),
    _de("Wiesbaden", 65183, 65207, "611", 3),
    _de("Freiburg im Breisgau", 79098, 79117, "761", 2),
    _de("Kiel", 24103, 24159, "431", 2),
    _de("Rostock", 18055, 18147, "381", 2),
    _de("Regensburg", 93047, 93059, "941", 2),
    _de("Erfurt", 99084, 99099, "361", 2),
    _de("Potsdam", 14467, 14482, "331", 2),
    _de("Mainz", 55116, 55131, "6131", 2),
    _de("Heidelberg", 69115, 69126, "6221", 2),
    _de("Ulm", 89073, 89081, "731", 1),
    City("Wien", "AT", 1010, 1230, "1", 7, 3, postal_step=10),
    City("Graz", "AT", 8010, 8060, "316", 6, 1, postal_step=10),
    City("Zürich", "CH", 8001, 8099, "44", 7, 2),
    City("Basel", "CH", 4001, 4059, "61", 7, 1),
]
# Faker's German street names are made of random people's names; these are the common ones.
STREETS = [
    "Hauptstraße", "Schulstraße", "Bahnhofstraße", "Gartenstraße", "Dorfstraße", "Bergstraße", "Lindenstraße",
    "Kirchstraße", "Waldstraße", "Ringstraße", "Friedrichstraße", "Goethestraße", "Schillerstraße", "Industriestraße",
    "Am Markt", "Mühlenweg", "Rosenstraße", "Feldstraße", "Poststraße", "Parkstraße", "Wiesenstraße", "Gewerbestraße",
    "Hafenstraße", "Kantstraße", "Mozartstraße", "Lessingstraße", "Eichendorffstraße", "Beethovenstraße", "Talstraße",
    "Kastanienallee", "Sonnenweg", "Birkenweg", "Ahornweg", "Berliner Straße", "Hamburger Straße", "Münchener Straße",
    "Frankfurter Straße", "Kölner Straße", "Leipziger Straße", "Dresdner Straße", "Marktplatz", "Im Gewerbepark",
    "Carl-Zeiss-Straße", "Robert-Bosch-Straße", "Siemensstraße", "Daimlerstraße", "Max-Planck-Straße",
    "Otto-Hahn-Straße", "Albert-Einstein-Straße", "Kaiserstraße", "Wilhelmstraße", "Luisenstraße", "Neue Straße",
    "Im Wiesengrund", "An der Kirche", "Uhlandstraße", "Breite Straße", "Lange Straße", "Tannenweg", "Am Bahnhof",
]
# Demo data never names a real domain: a seeded address that reaches a mail server must bounce.
# Companies get the top-level domain reserved for examples (RFC 2606), private people freemail
# look-alikes under it; crm.outbox does not deliver to reserved domains unless asked to.
DEMO_TLD = "example"
TOP_LEVEL_DOMAINS = {country: [DEMO_TLD] for country in ("DE", "AT", "CH")}

# The most frequent German surnames, drawn more often than Faker's long tail. Left out on purpose:
# "Schmitt" (the demo shows that searching for it finds Anna Schmidt), and "Schmidt" and "Schmitz",
# which would crowd her out of the search dropdown.
COMMON_LAST_NAMES = [
    "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause", "Meier", "Lehmann",
]
EXCLUDED_LAST_NAMES = {"Schmitt", "Schmitz"}
REGIONS = [
    "Nord", "Süd", "Rhein", "Elbe", "Hanse", "Alpen", "Spree", "Isar", "Weser", "Main", "Taunus", "Harz",
    "Ostsee", "Nordsee", "Bodensee", "Schwarzwald", "Eifel", "Allgäu", "Franken", "Westfalen", "Sachsen",
    "Nordlicht", "Lindenhof", "Sonnenberg", "Falkenstein",
]
INDUSTRIES = {  # industry: (weight, words that name a company of it)
    Industry.MECHANICAL: (12, ["Maschinenbau", "Anlagenbau", "Präzisionstechnik", "Antriebstechnik", "Fördertechnik"]),
    Industry.MANUFACTURING: (11, ["Metallbau", "Kunststofftechnik", "Verpackungen", "Fertigungstechnik", "Werkzeugbau"]),
    Industry.AUTOMOTIVE: (5, ["Fahrzeugtechnik", "Automotive", "Autoteile", "Karosseriebau"]),
    Industry.CHEMICALS: (4, ["Chemie", "Pharma", "Labortechnik", "Spezialchemie"]),
    Industry.CONSTRUCTION: (8, ["Bau", "Hochbau", "Tiefbau", "Bauunternehmung", "Haustechnik"]),
    Industry.RETAIL: (7, ["Handel", "Fachhandel", "Einrichtungshaus", "Modehaus"]),
    Industry.WHOLESALE: (6, ["Großhandel", "Handelsgesellschaft", "Import-Export"]),
    Industry.IT: (10, ["IT-Systemhaus", "Software", "Digital", "Datentechnik", "IT-Service"]),
    Industry.TELECOM: (2, ["Telekommunikation", "Netzwerke", "Kommunikationstechnik"]),
    Industry.FINANCE: (4, ["Finanzberatung", "Versicherungsmakler", "Vermögensverwaltung"]),
    Industry.HEALTH: (5, ["Medizintechnik", "Pflegedienste", "Gesundheitszentrum", "Dentaltechnik"]),
    Industry.ENERGY: (4, ["Energie", "Solartechnik", "Windkraft", "Energietechnik"]),
    Industry.LOGISTICS: (7, ["Logistik", "Spedition", "Transporte", "Lagerlogistik"]),
    Industry.HOSPITALITY: (3, ["Hotelbetriebe", "Gastronomie", "Catering"]),
    Industry.CONSULTING: (6, ["Consulting", "Unternehmensberatung", "Beratung"]),
    Industry.MEDIA: (4, ["Medien", "Werbeagentur", "Kommunikation", "Druckerei"]),
    Industry.EDUCATION: (2, ["Akademie", "Bildungszentrum", "Schulungszentrum"]),
    Industry.CRAFTS: (8, ["Elektrotechnik", "Sanitär", "Tischlerei", "Malerbetrieb", "Dachdeckerei"]),
    Industry.AGRICULTURE: (2, ["Agrar", "Landtechnik", "Saatgut"]),
}
LEGAL_FORMS = {  # legal form: (weight, typical head count as the mean of a log-normal)
    LegalForm.GMBH: (50, 3.6), LegalForm.GMBH_CO_KG: (15, 4.2), LegalForm.AG: (7, 5.5), LegalForm.KG: (7, 3.5),
    LegalForm.EK: (7, 2.0), LegalForm.UG: (5, 1.8), LegalForm.OHG: (3, 2.5), LegalForm.SE: (1, 7.0),
}
RELATIONSHIPS = {
    Relationship.PROSPECT: 45, Relationship.CUSTOMER: 35, Relationship.FORMER_CUSTOMER: 5,
    Relationship.PARTNER: 7, Relationship.SUPPLIER: 5, Relationship.OTHER: 3,
}
# A person's lifecycle stage follows their organization's relationship (None: no organization).
LIFECYCLES = {
    Relationship.CUSTOMER: {Lifecycle.CUSTOMER: 75, Lifecycle.QUALIFIED: 10, Lifecycle.LEAD: 10, Lifecycle.FORMER_CUSTOMER: 5},
    Relationship.FORMER_CUSTOMER: {Lifecycle.FORMER_CUSTOMER: 70, Lifecycle.CUSTOMER: 10, Lifecycle.LEAD: 20},
    Relationship.PROSPECT: {Lifecycle.LEAD: 50, Lifecycle.QUALIFIED: 30, Lifecycle.SUBSCRIBER: 15, Lifecycle.CUSTOMER: 5},
    None: {Lifecycle.SUBSCRIBER: 40, Lifecycle.LEAD: 40, Lifecycle.QUALIFIED: 10, Lifecycle.CUSTOMER: 10},
}
OTHER_LIFECYCLES = {Lifecycle.CUSTOMER: 40, Lifecycle.LEAD: 30, Lifecycle.QUALIFIED: 20, Lifecycle.SUBSCRIBER: 10}
SOURCES = {
    Source.WEBSITE: 25, Source.REFERRAL: 15, Source.TRADE_FAIR: 15, Source.COLD_CALL: 10, Source.CAMPAIGN: 15,
    Source.PARTNER: 8, Source.IMPORT: 10, Source.OTHER: 2,
}
TITLES = {
    "": 90, Person.AcademicTitle.DR: 6, Person.AcademicTitle.DIPL_ING: 2, Person.AcademicTitle.PROF_DR: 1,
    Person.AcademicTitle.PROF: 1,
}
POSITIONS = [  # (for a man, for a woman, department, weight)
    ("Geschäftsführer", "Geschäftsführerin", "Geschäftsführung", 10),
    ("Leiter Einkauf", "Leiterin Einkauf", "Einkauf", 10),
    ("Einkäufer", "Einkäuferin", "Einkauf", 12),
    ("Vertriebsleiter", "Vertriebsleiterin", "Vertrieb", 7),
    ("Key Account Manager", "Key Account Managerin", "Vertrieb", 6),
    ("IT-Leiter", "IT-Leiterin", "IT", 6),
    ("Systemadministrator", "Systemadministratorin", "IT", 5),
    ("Leiter Buchhaltung", "Leiterin Buchhaltung", "Finanzen", 4),
    ("Controller", "Controllerin", "Finanzen", 4),
    ("Personalleiter", "Personalleiterin", "Personal", 4),
    ("Marketingleiter", "Marketingleiterin", "Marketing", 4),
    ("Produktionsleiter", "Produktionsleiterin", "Produktion", 5),
    ("Projektleiter", "Projektleiterin", "Projekte", 6),
    ("Assistent der Geschäftsführung", "Assistentin der Geschäftsführung", "Geschäftsführung", 5),
    ("Technischer Leiter", "Technische Leiterin", "Technik", 4),
    ("Sachbearbeiter", "Sachbearbeiterin", "Verwaltung", 6),
    ("Prokurist", "Prokuristin", "Geschäftsführung", 2),
    ("", "", "", 4),
]
TAGS = [
    ("VIP", Tag.Color.RED), ("Entscheider", Tag.Color.GREEN), ("Newsletter", Tag.Color.BLUE),
    ("Messe 2025", Tag.Color.YELLOW), ("Key Account", Tag.Color.CYAN), ("Rahmenvertrag", Tag.Color.GREEN),
    ("Partnerprogramm", Tag.Color.CYAN), ("Budget 2026", Tag.Color.YELLOW), ("Referenzkunde", Tag.Color.GREEN),
    ("Inaktiv", Tag.Color.GREY),
]
FREEMAIL = {
    "DE": ["web.example", "gmx.example", "t-online.example", "gmail.example", "posteo.example", "outlook.example"],
    "AT": ["gmx-at.example", "aon.example", "gmail.example"],
    "CH": ["bluewin.example", "gmx-ch.example", "gmail.example"],
}
ORGANIZATION_NOTES = [
    "Familienunternehmen in dritter Generation.", "Mehrere Standorte, Zentrale entscheidet über den Einkauf.",
    "Interesse an einem Wartungsvertrag.", "Kontakt über die Messe entstanden.",
    "Ausschreibungen laufen jährlich im Herbst.", "Zahlt zuverlässig, Zahlungsziel 30 Tage.",
    "Neue Geschäftsführung seit diesem Jahr.", "Vergleicht regelmäßig mit zwei Wettbewerbern.",
]
TOPICS = [
    "Rahmenvertrag 2026", "Wartungsvertrag", "Preisanpassung", "Lieferverzug", "Produktdemo", "Messe-Nachbereitung",
    "Ersatzteilbestellung", "Schulung", "Lizenzverlängerung", "Reklamation", "Budgetplanung", "Projektstart",
    "Jahresgespräch", "Referenzbesuch", "Zahlungsziel", "Liefertermine", "Pilotprojekt", "Ausschreibung",
]
SUBJECTS = {
    Kind.NOTE: ["Notiz: {topic}", "Info von {name}: {topic}", "Gesprächsnotiz {topic}", "Hinweis: {topic}"],
    Kind.CALL: ["Anruf: {topic}", "Rückruf von {name}", "Telefonat zu {topic}", "Kurzes Telefonat: {topic}"],
    Kind.EMAIL: ["E-Mail: {topic}", "Angebot {number} per E-Mail gesendet", "Unterlagen zu {topic} verschickt",
                 "Anfrage zu {topic}"],
    Kind.MEETING: ["Termin vor Ort: {topic}", "Videokonferenz: {topic}", "Besprechung {topic}", "Workshop {topic}"],
    Kind.TASK: ["Angebot {number} nachfassen", "{name} zurückrufen", "Unterlagen zu {topic} senden",
                "Termin zu {topic} vereinbaren", "Vertrag prüfen: {topic}"],
}
BODIES = [
    "Bittet um Rückruf bis Ende der Woche.", "Angebot liegt beim Einkauf zur Freigabe.",
    "Budget ist für das nächste Quartal eingeplant.", "Entscheidung fällt in der Geschäftsführung.",
    "Liefertermin muss noch bestätigt werden.", "Ein Wettbewerber ist ebenfalls im Gespräch.",
    "Sehr positives Gespräch, nächster Schritt: Präsentation beim Team.",
    "Rechnung ist noch offen, freundlich nachfragen.", "Ansprechpartner ist ab nächster Woche im Urlaub.",
    "Muster wurden verschickt.", "Wünscht eine Referenz aus der gleichen Branche.",
]
KINDS = {Kind.NOTE: 25, Kind.CALL: 25, Kind.EMAIL: 25, Kind.MEETING: 10, Kind.TASK: 15}

# The showcase. Owners are given as the index of a sales rep.
SHOWCASE_ORGANIZATIONS = {  # key: (owner, (street, postal code, city), tags, fields)
    "mueller": (0, ("Industriestraße 12", "50735", "Köln"), ["Key Account", "Rahmenvertrag"], dict(
        name="Müller GmbH", legal_form=LegalForm.GMBH, industry=Industry.MECHANICAL, website="https://www.mueller-gmbh.example",
        phone="+49 221 4711230", email="info@mueller-gmbh.example", employees=240, annual_revenue=Decimal("38500000"),
        relationship=Relationship.CUSTOMER,
        description="Familienunternehmen in dritter Generation, Sondermaschinen für die Lebensmittelindustrie.",
    )),
    # A duplicate, as an import of a trade fair's visitor list makes them.
    "mueller_duplicate": (1, ("Industriestr. 12", "50735", "Köln"), [], dict(
        name="Mueller GmbH", legal_form=LegalForm.GMBH, industry=Industry.MECHANICAL, website="http://mueller-gmbh.example",
        phone="+49 221 4711230", relationship=Relationship.PROSPECT, description="Aus der Besucherliste der Messe importiert.",
    )),
    "hanse": (1, ("Am Sandtorkai 50", "20457", "Hamburg"), [], dict(
        name="Hanse Logistik GmbH", legal_form=LegalForm.GMBH, industry=Industry.LOGISTICS,
        website="https://www.hanse-logistik.example", phone="+49 40 30393710", email="kontakt@hanse-logistik.example",
        employees=85, relationship=Relationship.CUSTOMER,
    )),
    "nordlicht": (0, ("Holstenstraße 8", "24103", "Kiel"), [], dict(
        name="Nordlicht Energie AG", legal_form=LegalForm.AG, industry=Industry.ENERGY,
        website="https://www.nordlicht-energie.example", phone="+49 431 5570000", email="info@nordlicht-energie.example",
        employees=1200, relationship=Relationship.PROSPECT,
    )),
}
MR, MS = Person.Salutation.MR, Person.Salutation.MS
SHOWCASE_PEOPLE = [  # (key, organization, owner, position, department, tags, fields)
    ("juergen", "mueller", 0, "Geschäftsführer", "Geschäftsführung", ["VIP", "Entscheider"], dict(
        salutation=MR, first_name="Jürgen", last_name="Müller", email="juergen.mueller@mueller-gmbh.example",
        phone="+49 221 4711231", mobile="+49 171 2345678", city="Köln", lifecycle_stage=Lifecycle.CUSTOMER,
        source=Source.TRADE_FAIR,
    )),
    ("juergen_duplicate", "mueller_duplicate", 1, "GF", "", [], dict(
        salutation=MR, first_name="Juergen", last_name="Mueller", email="juergen.mueller@mueller-gmbh.example", city="Köln",
        lifecycle_stage=Lifecycle.LEAD, source=Source.IMPORT,
    )),
    ("anna", "hanse", 1, "Leiterin Einkauf", "Einkauf", ["Entscheider"], dict(
        salutation=MS, first_name="Anna", last_name="Schmidt", email="anna.schmidt@hanse-logistik.example",
        phone="+49 40 30393722", city="Hamburg", lifecycle_stage=Lifecycle.QUALIFIED, source=Source.REFERRAL,
    )),
    ("petra", "nordlicht", 0, "IT-Leiterin", "IT", [], dict(
        salutation=MS, first_name="Petra", last_name="Neumann", email="petra.neumann@nordlicht-energie.example", city="Kiel",
        lifecycle_stage=Lifecycle.LEAD, source=Source.WEBSITE,
    )),
    ("petra_duplicate", "nordlicht", 0, "IT-Leiterin", "IT", [], dict(
        salutation=MS, first_name="Petra", last_name="Neumann", email="petra.neumann@nordlicht-energie.example", city="Kiel",
        lifecycle_stage=Lifecycle.LEAD, source=Source.IMPORT,
    )),
]
SHOWCASE_ACTIVITIES = [  # (person, kind, subject, details, days ago, task due in days or None)
    ("juergen", Kind.MEETING, "Jahresgespräch 2025", "Zufrieden mit dem Service, plant eine zweite Linie.", 95, None),
    ("juergen", Kind.EMAIL, "Angebot A-2026-0113 per E-Mail gesendet", "", 12, None),
    ("juergen", Kind.CALL, "Rückruf: Rahmenvertrag 2026", "Wünscht Staffelpreise ab 20 Einheiten.", 4, None),
    ("juergen", Kind.NOTE, "Notiz: Entscheidung im Beirat", "Der Beirat tagt Ende des Monats.", 2, None),
    ("juergen", Kind.TASK, "Herrn Müller zurückrufen: Rahmenvertrag", "", 3, 0),
    ("anna", Kind.CALL, "Anfrage zu Lagerlogistik", "Sucht einen Partner für das neue Lager in Billbrook.", 30, None),
    ("anna", Kind.MEETING, "Videokonferenz: Produktdemo", "", 9, None),
    ("anna", Kind.TASK, "Angebot Lagerlogistik an Frau Schmidt senden", "", 5, -2),
]
# fmt: on

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, separator: str = "-") -> str:
    """'Jürgen' -> 'juergen', 'Müller & Söhne' -> 'mueller-soehne': for emails and domains."""
    return _NOT_SLUG.sub(separator, unaccent(text.lower().translate(_GERMAN))).strip(separator)


class Weighted:
    """Draws from {value: weight} quickly (bisect on cumulative weights)."""

    def __init__(self, weights: dict):
        self.values = list(weights)
        self.cumulative = list(accumulate(weights.values()))

    def __call__(self, rng):
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class Pools:
    """Everything random that Faker would be too slow to make per row."""

    def __init__(self, faker):
        self.rng = faker.random
        self.first_names = {
            Person.Salutation.MR: _unique(faker.first_name_male() for _ in range(POOL_SIZE)),
            Person.Salutation.MS: _unique(faker.first_name_female() for _ in range(POOL_SIZE)),
        }
        self.rare_last_names = [
            n for n in _unique(faker.last_name() for _ in range(POOL_SIZE)) if n not in EXCLUDED_LAST_NAMES
        ]
        self.city = Weighted({city: city.weight for city in CITIES})
        self.industry = Weighted({industry: weight for industry, (weight, _) in INDUSTRIES.items()})
        self.legal_form = Weighted({form: weight for form, (weight, _) in LEGAL_FORMS.items()})
        self.relationship = Weighted(RELATIONSHIPS)
        self.lifecycle = {key: Weighted(weights) for key, weights in LIFECYCLES.items()}
        self.other_lifecycle = Weighted(OTHER_LIFECYCLES)
        self.source = Weighted(SOURCES)
        self.title = Weighted(TITLES)
        self.position = Weighted({p: p[3] for p in POSITIONS})
        self.kind = Weighted(KINDS)

    def last_name(self) -> str:
        names = COMMON_LAST_NAMES if self.rng.random() < 0.3 else self.rare_last_names
        return self.rng.choice(names)

    def street(self) -> str:
        number = self.rng.randint(1, 140)
        suffix = self.rng.choice("abc") if self.rng.random() < 0.08 else ""
        return f"{self.rng.choice(STREETS)} {number}{suffix}"

    def phone(self, city: City) -> PhoneNumber:
        digits = city.subscriber_digits
        subscriber = self.rng.randrange(2 * 10 ** (digits - 1), 10**digits)  # no leading 0 or 1
        return GeneratedPhoneNumber(
            country_code=CALLING_CODES[city.country], national_number=int(f"{city.area_code}{subscriber}")
        )

    def mobile(self, country: str) -> PhoneNumber:
        digits = MOBILE_DIGITS[country]
        subscriber = self.rng.randrange(10 ** (digits - 1), 10**digits)
        prefix = self.rng.choice(MOBILE_PREFIXES[country])
        return GeneratedPhoneNumber(country_code=CALLING_CODES[country], national_number=int(f"{prefix}{subscriber}"))


class GeneratedPhoneNumber(PhoneNumber):
    """A number made valid by construction (area code and length per city; see the tests).

    libphonenumber's validation costs about 60 µs a number, and the field runs it on every
    save and every str(); for a million generated numbers that is minutes, for nothing.
    """

    def is_valid(self) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


def _unique(values) -> list:
    return list(dict.fromkeys(values))  # keeps Faker's order, so a seed gives the same data


class Calendar:
    """Moments on working days (8:00-18:00 local time), recent ones more often."""

    def __init__(self, rng, *, years: int = 3, active_months: int = 18):
        self.rng = rng
        self.now = timezone.now()
        today = timezone.localdate()
        start = today - timedelta(days=365 * years)
        days = (start + timedelta(days=i) for i in range((today - start).days + 1))
        self.days = [timezone.make_aware(datetime.combine(d, clock.min)) for d in days if d.weekday() < 5]
        active_start = timezone.make_aware(datetime.combine(today - timedelta(days=active_months * 30), clock.min))
        self.active_start = bisect(self.days, active_start)

    def moment(self, earliest: int = 0) -> datetime:
        span = len(self.days) - earliest
        index = len(self.days) - 1 - int(span * self.rng.random() ** 1.6)
        when = self.days[index] + timedelta(minutes=self.rng.randrange(8 * 60, 18 * 60))
        return min(when, self.now - timedelta(minutes=self.rng.randrange(5, 120)))

    def today_at(self, hour: int) -> datetime:
        today = timezone.make_aware(datetime.combine(timezone.localdate(), clock(hour)))
        return max(today, min(self.now + timedelta(hours=1), today.replace(hour=23, minute=30)))


class Staff:
    """Who owns and works on the records: the sales reps mostly, their manager a little."""

    def __init__(self, users: dict):
        self.reps = list(users.get(Role.SALES_REP, []))
        self.managers = list(users.get(Role.SALES_MANAGER, []))
        weights = {user.pk: 10 for user in self.reps} | {user.pk: 2 for user in self.managers}
        self.by_id = {user.pk: user for user in [*self.reps, *self.managers]}
        self._owner = Weighted(weights) if weights else None

    def owner_id(self, rng, unowned: float = 0.05) -> int | None:
        if self._owner is None or rng.random() < unowned:
            return None
        return self._owner(rng)


@dataclass
class OrganizationRow:
    """What people and activities need to know about an organization that is already written."""

    pk: int
    domain: str
    city: City
    owner_id: int | None
    relationship: str
    size: float  # how many of its people the CRM knows, relatively: bigger companies, more contacts


class Writer:
    """Writes rows in bulk (crm.bulk: about three times as fast as bulk_create for a large data
    set), and for small data sets the history records that save() would write."""

    def __init__(self, *, history: bool, staff: Staff):
        self.history = history
        self.staff = staff

    def create(self, model, objs: list, *, user_ids=None, dates=None) -> list:
        if not objs:
            return objs
        if connection.vendor in ("postgresql", "sqlite"):
            bulk.insert_objects(model, objs)
        else:
            model.objects.bulk_create(objs)
        if self.history and hasattr(model, "history"):
            for index, obj in enumerate(objs):
                obj._history_user = self.staff.by_id.get(user_ids[index]) if user_ids else None
                obj._history_date = dates[index] if dates else timezone.now()
            model.history.bulk_history_create(objs)
        return objs


class Pipeline:
    """Writes one batch in a second thread while the next one is being built.

    Building rows is Python work and writing them is mostly database work, so a large data set
    is made in about the time of the larger of the two. Small data sets are written in the
    calling thread: the writer thread has its own database connection, which would not see the
    rows of an open transaction (a test's, for example).
    """

    def __init__(self, *, threaded: bool):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-writer") if threaded else None
        self.pending: Future | None = None

    def submit(self, write, *args) -> None:
        if self.executor is None:
            write(*args)
            return
        self.wait()
        self.pending = self.executor.submit(write, *args)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()  # raises what the writer raised

    def close(self) -> None:
        if self.executor is None:
            return
        try:
            self.wait()
        finally:
            self.executor.submit(connections.close_all).result()
            self.executor.shutdown()


class Seeding:
    def __init__(self, *, scale: int, users: dict, faker, log):
        self.scale = scale
        self.log = log
        self.pools = Pools(faker)
        self.rng = self.pools.rng
        self.calendar = Calendar(self.rng)
        self.staff = Staff(users)
        self.writer = Writer(history=scale <= HISTORY_LIMIT, staff=self.staff)
        self.pipeline = Pipeline(threaded=scale > BATCH_SIZE)
        self.tags = self._tags()
        self.organization_keys = set(Organization.objects.values_list("name_key", flat=True))
        self.domains: set[str] = set()
        self.emails = set(Person.objects.exclude(email="").values_list("email", flat=True))
        self.owned_people: dict[int, list[tuple[int, int | None, str]]] = {}  # owner -> a few (person, org, name)
        self.started = time.perf_counter()

    def run(self) -> None:
        organization_count = max(self.scale // 5, min(self.scale, MIN_ORGANIZATIONS))
        self.log(
            f"contacts: {organization_count:,} organizations, {self.scale:,} people, "
            f"{self.scale * ACTIVITIES_PER_PERSON:,} activities"
            + ("" if self.writer.history else f" (no history records: more than {HISTORY_LIMIT:,} people)")
        )
        self.showcase()
        try:
            organizations = self.organizations(organization_count)
            self.people(self.scale, organizations)
        finally:
            self.pipeline.close()
        self.rep_tasks()
        self.log(f"contacts: done in {self.elapsed()}")

    def elapsed(self) -> str:
        return f"{time.perf_counter() - self.started:.1f} s"

    def _tags(self) -> list[Tag]:
        tags = []
        for name, color in TAGS:
            tag, _ = Tag.objects.get_or_create(name=name, defaults={"color": color})
            tags.append(tag)
        return tags

    def some_tags(self, chance: float) -> list[Tag]:
        if self.rng.random() >= chance:
            return []
        return self.rng.sample(self.tags, self.rng.choice((1, 1, 1, 2)))

    # Organizations

    def organization_name(self, industry: str, legal_form: str, city: City) -> tuple[str, str]:
        """A company name that no other organization has, and its domain."""
        rng = self.rng
        words = INDUSTRIES[industry][1]
        for attempt in range(30):
            pattern = rng.random()
            last = self.pools.last_name()
            if pattern < 0.40:
                base = f"{last} {rng.choice(words)}"
            elif pattern < 0.60:
                base = f"{rng.choice(REGIONS)} {rng.choice(words)}"
            elif pattern < 0.78:
                base = f"{last} & {self.pools.last_name()}"
            elif pattern < 0.90:
                base = last
            else:
                base = f"{last} & Söhne"
            if attempt > 20:
                base = f"{base} {city.name}"
            name = f"{base} {LegalForm(legal_form).label}"
            key = organization_name_key(name)
            if key not in self.organization_keys:
                break
        self.organization_keys.add(key)
        domain_base = slug(base.replace("&", " "))
        tld = rng.choice(TOP_LEVEL_DOMAINS[city.country])
        domain, number = f"{domain_base}.{tld}", 1
        while domain in self.domains:
            number += 1
            domain = f"{domain_base}-{number}.{tld}"
        self.domains.add(domain)
        return name, domain

    def organization(self) -> tuple[Organization, OrganizationRow]:
        rng, pools = self.rng, self.pools
        industry, legal_form, city = pools.industry(rng), pools.legal_form(rng), pools.city(rng)
        name, domain = self.organization_name(industry, legal_form, city)
        employees = min(int(rng.lognormvariate(LEGAL_FORMS[legal_form][1], 1.2)) + 1, 250_000)
        revenue = Decimal(employees * rng.randrange(80, 260) * 1000) if rng.random() < 0.6 else None
        relationship = pools.relationship(rng)
        organization = Organization(
            name=name,
            legal_form=legal_form,
            industry=industry,
            website=f"https://www.{domain}" if rng.random() < 0.9 else "",
            phone=pools.phone(city) if rng.random() < 0.9 else "",
            email=f"{rng.choice(['info', 'kontakt', 'office', 'service'])}@{domain}" if rng.random() < 0.7 else "",
            country=city.country,
            employees=employees if rng.random() < 0.8 else None,
            annual_revenue=revenue,
            relationship=relationship,
            owner_id=self.staff.owner_id(rng),
            description=rng.choice(ORGANIZATION_NOTES) if rng.random() < 0.25 else "",
            created_at=self.calendar.moment(),
        )
        organization.refresh_search_key()  # written in bulk, without save()
        size = 1 + math.log10(employees)
        return organization, OrganizationRow(0, domain, city, organization.owner_id, relationship, size)

    def organizations(self, count: int) -> list[OrganizationRow]:
        rows: list[OrganizationRow] = []
        for start in range(0, count, BATCH_SIZE):
            size = min(BATCH_SIZE, count - start)
            built = [self.organization() for _ in range(size)]
            addresses = [
                OrganizationAddress(
                    organization=obj,
                    street=self.pools.street(),
                    postal_code=row.city.postal_code(self.rng),
                    city=row.city.name,
                    country=row.city.country,
                )
                for obj, row in built
                if self.rng.random() < 0.95
            ]
            links = [
                Organization.tags.through(organization=obj, tag=tag) for obj, _ in built for tag in self.some_tags(0.3)
            ]
            rows.extend(row for _, row in built)
            self.pipeline.submit(self.write_organizations, built, addresses, links, f"{start + size:,}/{count:,}")
        self.pipeline.wait()  # people need the organizations' ids
        return rows

    def write_organizations(self, built: list, addresses: list, links: list, progress: str) -> None:
        objs = [obj for obj, _ in built]
        with transaction.atomic():
            self.writer.create(
                Organization, objs, user_ids=[o.owner_id for o in objs], dates=[o.created_at for o in objs]
            )
            self.writer.create(
                OrganizationAddress,
                addresses,
                user_ids=[a.organization.owner_id for a in addresses],
                dates=[a.organization.created_at for a in addresses],
            )
            self.writer.create(Organization.tags.through, links)
        for obj, row in built:
            row.pk = obj.pk
        self.log(f"  organizations {progress} ({self.elapsed()})")

    # People

    def email(self, first: str, last: str, domain: str) -> str:
        first_slug, last_slug = slug(first), slug(last)
        pattern = self.rng.random()
        if pattern < 0.7:
            local = f"{first_slug}.{last_slug}"
        elif pattern < 0.9:
            local = f"{first_slug[:1]}.{last_slug}"
        else:
            local = f"{first_slug}{last_slug[:1]}" if pattern < 0.95 else last_slug
        email, number = f"{local}@{domain}", 1
        while email in self.emails:
            number += 1
            email = f"{local}{number}@{domain}"
        self.emails.add(email)
        return email

    def person(self, employer: OrganizationRow | None) -> tuple[Person, dict]:
        rng, pools, calendar = self.rng, self.pools, self.calendar
        gender = Person.Salutation.MR if rng.random() < 0.55 else Person.Salutation.MS
        first, last = rng.choice(pools.first_names[gender]), pools.last_name()
        city = employer.city if employer and rng.random() < 0.85 else pools.city(rng)
        country = city.country
        if employer:
            email = self.email(first, last, employer.domain) if rng.random() < 0.95 else ""
            lifecycle = pools.lifecycle.get(employer.relationship, pools.other_lifecycle)(rng)
            owner_id = employer.owner_id if rng.random() < 0.9 else self.staff.owner_id(rng)
            street = postal_code = ""
        else:
            email = self.email(first, last, rng.choice(FREEMAIL[country])) if rng.random() < 0.9 else ""
            lifecycle = pools.lifecycle[None](rng)
            owner_id = self.staff.owner_id(rng, unowned=0.15)
            street, postal_code = pools.street(), city.postal_code(rng)
        created_index = rng.randrange(len(calendar.days))
        person = Person(
            salutation=gender if rng.random() < 0.97 else Person.Salutation.NONE,
            academic_title=pools.title(rng),
            first_name=first,
            last_name=last,
            email=email,
            phone=pools.phone(city) if rng.random() < 0.6 else "",
            mobile=pools.mobile(country) if rng.random() < 0.4 else "",
            street=street,
            postal_code=postal_code,
            city=city.name,
            country=country,
            birthday=date(rng.randint(1955, 2003), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.25
            else None,
            preferred_language=Person.Language.ENGLISH if rng.random() < 0.05 else Person.Language.GERMAN,
            owner_id=owner_id,
            lifecycle_stage=lifecycle,
            source=pools.source(rng) if rng.random() < 0.9 else "",
            created_at=calendar.days[created_index] + timedelta(hours=rng.randint(8, 17)),
        )
        person.refresh_search_key()  # written in bulk, without save()
        return person, {"employer": employer, "first_active": max(created_index, calendar.active_start)}

    def people(self, count: int, organizations: list[OrganizationRow]) -> None:
        rng = self.rng
        employer = Weighted({index: row.size for index, row in enumerate(organizations)})
        for start in range(0, count, BATCH_SIZE):
            size = min(BATCH_SIZE, count - start)
            built = [self.person(organizations[employer(rng)] if rng.random() < 0.9 else None) for _ in range(size)]
            employments = []
            for person, info in built:
                if info["employer"]:
                    employments.append(self.employment(person, info["employer"], primary=True))
                    if rng.random() < 0.04:
                        other = organizations[employer(rng)]
                        if other.pk != info["employer"].pk:
                            employments.append(self.employment(person, other, primary=False))
            links = [Person.tags.through(person=p, tag=tag) for p, _ in built for tag in self.some_tags(0.35)]
            activities = [self.activity(*rng.choice(built)) for _ in range(size * ACTIVITIES_PER_PERSON)]
            progress = f"{start + size:,}/{count:,}, activities {(start + size) * ACTIVITIES_PER_PERSON:,}"
            self.pipeline.submit(self.write_people, built, employments, links, activities, progress)
        self.pipeline.wait()

    def write_people(self, built: list, employments: list, links: list, activities: list, progress: str) -> None:
        people = [p for p, _ in built]
        with transaction.atomic():
            self.writer.create(
                Person, people, user_ids=[p.owner_id for p in people], dates=[p.created_at for p in people]
            )
            self.writer.create(
                Employment,
                employments,
                user_ids=[e.person.owner_id for e in employments],
                dates=[e.person.created_at for e in employments],
            )
            self.writer.create(Person.tags.through, links)
            self.writer.create(
                Activity,
                activities,
                user_ids=[a.created_by_id for a in activities],
                dates=[a.occurred_at for a in activities],
            )
        for person, info in built:
            sample = self.owned_people.setdefault(person.owner_id, [])
            if person.owner_id and len(sample) < 20:
                org = info["employer"]
                sample.append((person.pk, org.pk if org else None, self.addressed(person)))
        self.log(f"  people {progress} ({self.elapsed()})")

    def employment(self, person: Person, organization: OrganizationRow, *, primary: bool) -> Employment:
        male, female, department, _ = self.pools.position(self.rng)
        return Employment(
            person=person,
            organization_id=organization.pk,
            position=female if person.salutation == Person.Salutation.MS else male,
            department=department,
            is_primary=primary,
        )

    # Activities

    @staticmethod
    def addressed(person: Person) -> str:
        if person.salutation == Person.Salutation.MR:
            return f"Herrn {person.last_name}"
        if person.salutation == Person.Salutation.MS:
            return f"Frau {person.last_name}"
        return f"{person.first_name} {person.last_name}"

    def subject(self, kind: str, name: str) -> str:
        rng = self.rng
        template = rng.choice(SUBJECTS[kind])
        number = f"A-{rng.randint(2024, 2026)}-{rng.randint(1, 9999):04d}"
        return template.format(topic=rng.choice(TOPICS), name=name, number=number)

    def activity(self, person: Person, info: dict) -> Activity:
        rng, calendar = self.rng, self.calendar
        kind = self.pools.kind(rng)
        employer = info["employer"]
        occurred_at = calendar.moment(info["first_active"])
        author_id = person.owner_id if person.owner_id and rng.random() < 0.85 else self.staff.owner_id(rng, unowned=0)
        activity = Activity(
            kind=kind,
            subject=self.subject(kind, self.addressed(person)),
            body=rng.choice(BODIES) if rng.random() < 0.5 else "",
            occurred_at=occurred_at,
            created_by_id=author_id,
            person=None if employer and rng.random() < 0.1 else person,
            organization_id=employer.pk if employer else None,
        )
        if kind == Kind.TASK:
            activity.assignee_id = author_id
            activity.due_at = (occurred_at + timedelta(days=rng.randint(1, 21))).replace(
                hour=rng.randint(8, 16), minute=0
            )
            if activity.due_at < calendar.now and rng.random() < 0.85:
                activity.done = True
                activity.done_at = min(activity.due_at + timedelta(hours=rng.randint(-48, 48)), calendar.now)
        return activity

    def rep_tasks(self) -> None:
        """Every sales rep starts the day with tasks: some due today, some overdue, some coming up."""
        rng, calendar = self.rng, self.calendar
        tasks = []
        for rep in self.staff.reps:
            sample = self.owned_people.get(rep.pk) or [row for rows in self.owned_people.values() for row in rows]
            if not sample:
                continue
            for due_at in [
                calendar.today_at(10),
                calendar.today_at(15),
                calendar.now - timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 6)),
                calendar.now - timedelta(days=rng.randint(4, 12)),
                calendar.now + timedelta(days=rng.randint(1, 5)),
                calendar.now + timedelta(days=rng.randint(6, 20)),
            ]:
                person_id, organization_id, name = rng.choice(sample)
                tasks.append(
                    Activity(
                        kind=Kind.TASK,
                        subject=self.subject(Kind.TASK, name),
                        body=rng.choice(BODIES),
                        occurred_at=min(due_at, calendar.now) - timedelta(days=rng.randint(2, 10)),
                        created_by=rep,
                        assignee=rep,
                        person_id=person_id,
                        organization_id=organization_id,
                        due_at=due_at,
                    )
                )
        with transaction.atomic():
            self.writer.create(
                Activity, tasks, user_ids=[t.created_by_id for t in tasks], dates=[t.occurred_at for t in tasks]
            )

    # Showcase records

    def showcase(self) -> None:
        """The records the demo and the help pages talk about; made once."""
        if Person.objects.filter(email=SHOWCASE_PEOPLE[0][-1]["email"]).exists():
            return
        reps = self.staff.reps or [None]
        tags = {tag.name: tag for tag in self.tags}
        now = self.calendar.now
        with transaction.atomic():
            organizations = {}
            for key, (rep, (street, postal_code, city), tag_names, fields) in SHOWCASE_ORGANIZATIONS.items():
                organization = Organization.objects.create(owner=reps[rep % len(reps)], country="DE", **fields)
                organization.addresses.create(street=street, postal_code=postal_code, city=city)
                organization.tags.add(*(tags[name] for name in tag_names))
                self.organization_keys.add(organization.name_key)
                self.domains.add(fields["website"].split("//")[-1].removeprefix("www."))
                organizations[key] = organization
            people = {}
            for key, organization_key, rep, position, department, tag_names, fields in SHOWCASE_PEOPLE:
                person = Person.objects.create(owner=reps[rep % len(reps)], **fields)
                person.employments.create(
                    organization=organizations[organization_key], position=position, department=department
                )
                person.tags.add(*(tags[name] for name in tag_names))
                self.emails.add(person.email)
                people[key] = (person, organizations[organization_key])
            for key, kind, subject, body, days_ago, due_in_days in SHOWCASE_ACTIVITIES:
                person, organization = people[key]
                task = {}
                if due_in_days is not None:
                    due_at = self.calendar.today_at(11) if due_in_days == 0 else now + timedelta(days=due_in_days)
                    task = {"due_at": due_at, "assignee": person.owner}
                Activity.objects.create(
                    kind=kind,
                    subject=subject,
                    body=body,
                    occurred_at=now - timedelta(days=days_ago),
                    person=person,
                    organization=organization,
                    created_by=person.owner,
                    **task,
                )
        self.log("  showcase records: Müller GmbH, Mueller GmbH, Jürgen Müller, Anna Schmidt, Petra Neumann (twice)")


def seed_contacts(*, scale: int, users: dict, faker, log) -> None:
    Seeding(scale=scale, users=users, faker=faker, log=log).run()


register(Seeder("contacts", seed_contacts, order=10, has_data=lambda: Person.objects.exists()))
