"""Text normalisation for search: accent- and case-insensitive, German-aware.

"Müller" is indexed as both "muller" and "mueller", so the queries "Müller", "Mueller"
and "Muller" all find it. The same code runs on SQLite and Postgres, so both backends
agree on what matches; Postgres adds trigram similarity and full-text search on top.
"""

import re
import unicodedata

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
_TOKEN = re.compile(r"[\w@.+-]+", re.UNICODE)


def unaccent(text: str) -> str:
    if text.isascii():  # most tokens; the same result, without decomposing each character
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def variants(token: str) -> list[str]:
    """The spellings under which a token is indexed and searched, most specific first."""
    token = token.lower()
    found = []
    for candidate in (unaccent(token.translate(_GERMAN)), unaccent(token)):
        if candidate and candidate not in found:
            found.append(candidate)
    return found


def tokens(text: str) -> list[str]:
    return [t.strip(".-+") for t in _TOKEN.findall(text or "") if t.strip(".-+")]


def index_text(*parts) -> str:
    """The normalised text stored in a model's `search_key`."""
    seen: list[str] = []
    for part in parts:
        if not part:
            continue
        for token in tokens(str(part)):
            for variant in variants(token):
                if variant not in seen:
                    seen.append(variant)
    return " ".join(seen)


def query_terms(query: str) -> list[list[str]]:
    """Each query token as its list of alternative spellings; all tokens must match."""
    return [variants(t) for t in tokens(query)[:8]]
