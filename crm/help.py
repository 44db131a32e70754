"""Context help: one Markdown page per URL name, in German and English.

Files live in `<app>/help/<language>/<url name>.md` (for names without a namespace, in
`crm/help/`). The first line is the title (`# ...`). The layout's help button loads the
page for the current URL name into a side panel.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import markdown
import nh3
from django.apps import apps
from django.utils.translation import get_language

FALLBACK_LANGUAGE = "de"
ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "a", "img",
    "table", "thead", "tbody", "tr", "th", "td", "kbd", "blockquote", "hr", "br",
}


@dataclass(frozen=True)
class HelpPage:
    page_id: str
    language: str
    title: str
    body_markdown: str

    @property
    def html(self) -> str:
        return nh3.clean(
            markdown.markdown(self.body_markdown, extensions=["tables", "sane_lists"]),
            tags=ALLOWED_TAGS,
            attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
        )


def _help_dir(namespace: str) -> Path | None:
    label = namespace or "crm"
    try:
        return Path(apps.get_app_config(label).path) / "help"
    except LookupError:
        return None


def split_page_id(page_id: str) -> tuple[str, str]:
    namespace, _, name = page_id.rpartition(":")
    return namespace, name


def help_path(page_id: str, language: str) -> Path | None:
    namespace, name = split_page_id(page_id)
    directory = _help_dir(namespace)
    if directory is None or not name.replace("_", "").replace("-", "").isalnum():
        return None
    return directory / language / f"{name}.md"


@lru_cache(maxsize=512)
def _load(page_id: str, language: str) -> HelpPage | None:
    path = help_path(page_id, language)
    if path is None or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    title = first.lstrip("#").strip() if first.startswith("#") else page_id
    return HelpPage(page_id, language, title, rest.strip() if first.startswith("#") else text)


def get_page(page_id: str, language: str | None = None) -> HelpPage | None:
    language = (language or get_language() or FALLBACK_LANGUAGE)[:2]
    return _load(page_id, language) or _load(page_id, FALLBACK_LANGUAGE)


def all_pages(language: str | None = None) -> list[HelpPage]:
    language = (language or get_language() or FALLBACK_LANGUAGE)[:2]
    pages = []
    for config in apps.get_app_configs():
        directory = Path(config.path) / "help" / language
        if not directory.is_dir():
            continue
        namespace = "" if config.label == "crm" else config.label
        for path in sorted(directory.glob("*.md")):
            page_id = f"{namespace}:{path.stem}" if namespace else path.stem
            page = _load(page_id, language)
            if page:
                pages.append(page)
    return sorted(pages, key=lambda p: p.title.lower())


# German endings dropped from a query word, so "Gebiete", "Gebiets" find "Gebiet" and "zuweisen"
# finds "Zuweisung". Only when at least four letters remain: "Rechnungen" -> "rechn", "neu" stays.
_ENDINGS = ("ungen", "ung", "en", "er", "es", "e", "n", "s")
SNIPPET_CHARS = 160


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _query_stems(query: str) -> list[list[str]]:
    """Per query word, its stems in every spelling (crm.text.variants: ü as ue and as u)."""
    from crm.text import tokens, variants

    return [sorted({_stem(v) for v in variants(word)}) for word in tokens(query)[:8]]


@lru_cache(maxsize=1024)
def _haystack(page_id: str, language: str) -> tuple[str, str]:
    """Title and text of a page in both folded spellings, as the query words are folded."""
    from crm.text import _GERMAN, unaccent

    page = _load(page_id, language)

    def fold(text: str) -> str:
        lower = text.lower()
        return f"{unaccent(lower.translate(_GERMAN))}\n{unaccent(lower)}"

    return fold(page.title), fold(page.body_markdown)


@dataclass(frozen=True)
class HelpHit:
    page: HelpPage
    snippet: str


def search_pages(query: str, language: str | None = None) -> list[HelpPage]:
    return [hit.page for hit in find_pages(query, language)]


def find_pages(query: str, language: str | None = None) -> list[HelpHit]:
    """Help pages for the words of `query`, in titles and text: pages with every word first, then
    those with most of them; within that, title matches before text matches. Each hit carries
    the sentence around the first word found, so the list shows why the page came up."""
    stems = _query_stems(query)
    pages = all_pages(language)
    if not stems:
        return [HelpHit(page, "") for page in pages]
    scored = []
    for page in pages:
        title, body = _haystack(page.page_id, page.language)
        in_title = sum(any(s in title for s in spellings) for spellings in stems)
        in_text = sum(any(s in title or s in body for s in spellings) for spellings in stems)
        if not in_text:
            continue
        occurrences = sum(body.count(s) for spellings in stems for s in spellings)
        scored.append(((in_text == len(stems), in_text, in_title, occurrences), page))
    scored.sort(key=lambda item: (tuple(-x for x in item[0]), item[1].title.lower()))
    return [HelpHit(page, _snippet(page, stems)) for _score, page in scored]


def _snippet(page: HelpPage, stems: list[list[str]]) -> str:
    """The plain text around the first query word in the page's text (empty if only the title matched)."""
    import re

    from crm.text import _GERMAN, unaccent

    plain = re.sub(r"\]\([^)]*\)", " ", page.body_markdown)  # a link's target is not text
    plain = re.sub(r"[#*`>|_\[\]]+", " ", plain)
    plain = " ".join(plain.split())
    # Each spelling of the text with a map back to the shown text (ü is "ue" in one, "u" in the
    # other; ß is "ss" in both), so the snippet starts where the word stands.
    positions = []
    for german in (True, False):
        folded, where = [], []
        for index, char in enumerate(plain.lower()):
            part = unaccent(char.translate(_GERMAN) if german else char)
            folded.append(part)
            where.extend([index] * len(part))
        text = "".join(folded)
        positions += [where[p] for spellings in stems for stem in spellings if (p := text.find(stem)) >= 0]
    if not positions:
        return ""
    start = max(0, min(positions) - SNIPPET_CHARS // 3)
    start = plain.rfind(" ", 0, start) + 1 if start else 0
    text = plain[start:start + SNIPPET_CHARS]
    return ("…" if start else "") + text + ("…" if start + SNIPPET_CHARS < len(plain) else "")
