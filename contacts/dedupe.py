"""Keys that make likely duplicates compare equal (see contacts.services.duplicates).

Stored on the rows (`name_key`, indexed) so that finding duplicates is an indexed GROUP BY,
not a comparison of every pair. The keys only ever decide what is *suggested* as a
duplicate; a person confirms every merge, so a key may be generous.
"""

import re

from crm.text import unaccent

# Legal-form words that do not tell two companies apart ("Müller GmbH" = "Müller AG" is a
# likely duplicate worth a look).
_LEGAL_WORDS = {
    "gmbh", "mbh", "ag", "kg", "ohg", "gbr", "ug", "haftungsbeschrankt", "ek", "e", "k", "ev", "v", "se",
    "eg", "co", "und", "&", "inc", "ltd", "llc", "plc", "corp", "kgaa", "gesellschaft", "partg",
}
# Titles and forms of address that end up in name fields ("Dr. Hans", "Herr Meier").
_PERSON_NOISE = {"dr", "prof", "dipl", "ing", "med", "rer", "nat", "phil", "herr", "frau", "mr", "mrs", "ms"}
_NON_WORD = re.compile(r"[^a-z0-9]+")
# After unaccent, "Müller" reads "muller" while a keyboard without umlauts gives "Mueller":
# folding the transcription makes all of Müller, Mueller and Muller share one key.
_UMLAUT_TRANSCRIPTION = re.compile(r"([aou])e")


def _words(text: str) -> list[str]:
    folded = _UMLAUT_TRANSCRIPTION.sub(r"\1", unaccent(text or ""))
    return [w for w in _NON_WORD.split(folded) if w]


def organization_name_key(name: str) -> str:
    return " ".join(w for w in _words(name) if w not in _LEGAL_WORDS)[:200]


def person_name_key(first_name: str, last_name: str) -> str:
    """Sorted words, so that "Meier, Hans" typed the wrong way round still matches "Hans Meier"."""
    words = sorted(w for w in _words(f"{first_name or ''} {last_name or ''}") if w not in _PERSON_NOISE)
    return " ".join(words)[:200]
