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


def search_pages(query: str, language: str | None = None) -> list[HelpPage]:
    from crm.text import unaccent

    needle = unaccent(query.strip())
    if not needle:
        return all_pages(language)
    return [
        p for p in all_pages(language) if needle in unaccent(p.title) or needle in unaccent(p.body_markdown)
    ]
