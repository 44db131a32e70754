"""Leads as a target of the contacts import: the same upload, encodings, column mapping, preview,
Celery run and report of rejected lines as people and organizations (contacts.services.importing);
here only what is particular to leads: their columns, when a lead is already there, how a chunk
of accepted lines is stored. Registered by sales.registrations."""

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import ImportJob, Organization
from contacts.services import importing
from contacts.services.importing import Column, choice, country, email, phone, text
from crm.roles import IMPORT_ROLES, Role
from sales.models import Lead

# Who may import leads: those who may import at all and write sales records.
LEAD_IMPORT_ROLES = tuple(role for role in IMPORT_ROLES if role in (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP))

RATING_ALIASES = {"kalt": "cold", "warm": "warm", "heiß": "hot", "heiss": "hot"}

LEAD_COLUMNS = (
    Column("first_name", gettext_lazy("First name"), text(100), synonyms=importing.FIRST_NAME_SYNONYMS),
    Column("last_name", gettext_lazy("Last name"), text(100), synonyms=importing.LAST_NAME_SYNONYMS),
    Column(
        importing.FULL_NAME, gettext_lazy("Full name (split into first and last name)"), text(201),
        synonyms=importing.FULL_NAME_SYNONYMS,
    ),
    Column("email", gettext_lazy("Email"), email, synonyms=("E-Mail", "Email", "Mail", "E-Mail-Adresse", "Email address")),
    Column("phone", gettext_lazy("Phone"), phone, synonyms=("Telefon", "Tel", "Telefonnummer", "Phone", "Telephone", "Phone number", "Business phone")),
    Column("company", gettext_lazy("Company"), text(200), synonyms=("Firma", "Unternehmen", "Organisation", "Firmenname", "Company", "Company name", "Organization")),
    Column("position", gettext_lazy("Position"), text(100), synonyms=("Position", "Funktion", "Berufsbezeichnung", "Job title", "Role")),
    Column("postal_code", gettext_lazy("Postal code"), text(12), synonyms=("PLZ", "Postleitzahl", "ZIP", "ZIP code", "Postcode", "Postal code")),
    Column("city", gettext_lazy("City"), text(100), synonyms=("Ort", "Stadt", "City", "Town")),
    Column("country", gettext_lazy("Country"), country, synonyms=("Land", "Staat", "Country", "Country code")),
    Column(
        "industry", gettext_lazy("Industry"), choice(Organization.Industry, importing.INDUSTRY_ALIASES),
        synonyms=("Branche", "Industry", "Sector"),
    ),
    Column("source", gettext_lazy("Source"), choice(Lead.Source, importing.SOURCE_ALIASES), synonyms=("Quelle", "Herkunft", "Source", "Lead source")),
    Column("rating", gettext_lazy("Rating"), choice(Lead.Rating, RATING_ALIASES), synonyms=("Bewertung", "Einstufung", "Rating")),
    Column("campaign_code", gettext_lazy("Campaign code"), text(64), synonyms=("Kampagne", "Kampagnencode", "Campaign", "Campaign code")),
    Column("note", gettext_lazy("Notes"), text(10_000), synonyms=("Notiz", "Notizen", "Bemerkung", "Bemerkungen", "Note", "Notes", "Comment", "Description")),
)


def _check(values: dict) -> list[str]:
    if not values.get("last_name") and not values.get("email"):
        return [_("A lead needs a last name or an email address.")]
    return []


def _name_key(values: dict) -> tuple:
    return (
        "name",
        values.get("first_name", "").lower(),
        values["last_name"].lower(),
        importing.normalize(values.get("company", "")),
    )


class LeadRules:
    """Leads are the same when they share an email; without one, name and company."""

    @staticmethod
    def keys(values: dict) -> set:
        if values.get("email"):
            return {("email", values["email"])}
        return {_name_key(values)}

    @staticmethod
    def existing(keys: set) -> set:
        found = set()
        emails = [k[1] for k in keys if k[0] == "email"]
        if emails:
            found.update(("email", e.lower()) for e in Lead.objects.filter(email__in=emails).values_list("email", flat=True))
        last_names = {k[2] for k in keys if k[0] == "name"}
        if last_names:
            query = Q()
            for last_name in last_names:
                query |= Q(last_name__iexact=last_name)
            for first_name, last_name, company in Lead.objects.filter(query).values_list("first_name", "last_name", "company"):
                found.add(_name_key({"first_name": first_name, "last_name": last_name, "company": company}))
        return found & keys


def _write_leads(chunk: list[dict], *, owner_id: int | None, org_cache: dict, outcome) -> None:
    new = importing.not_present(LeadRules, chunk)
    outcome.skipped += len(chunk) - len(new)
    leads = []
    for values in new:
        lead = Lead(owner_id=owner_id, status=Lead.Status.NEW, **{"source": Lead.Source.IMPORT, **values})
        lead.last_name = lead.last_name or lead.email
        lead.refresh_search_key()
        leads.append(lead)
    importing.insert(Lead, leads)
    outcome.created += len(leads)


def _summary(values: dict) -> list[str]:
    name = " ".join(p for p in [values.get("first_name", ""), values.get("last_name", "")] if p)
    return [name, values.get("email", ""), values.get("company", "")]


def register() -> None:
    importing.register_target(
        importing.ImportTarget(
            ImportJob.Target.LEADS, LEAD_COLUMNS, LeadRules, _write_leads, _summary,
            list_url="sales:lead_list", list_label=gettext_lazy("Leads"), show_label=gettext_lazy("Show the leads"),
            models=(Lead,),
            roles=LEAD_IMPORT_ROLES, check=_check,
            renames={"organization": "company", "description": "note"},
        )
    )
