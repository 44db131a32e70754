"""Fills German translations into a catalog from a JSON file {msgid: msgstr} and clears their
fuzzy flags; prints the entries that are still empty or fuzzy.

    .venv/bin/python scripts/fill_translations.py locale/de/LC_MESSAGES/django.po new.json
"""

import json
import sys

import polib


def main(path: str, *sources: str) -> int:
    catalog = polib.pofile(path, wrapwidth=0)
    translations = {}
    for source in sources:
        with open(source, encoding="utf-8") as handle:
            translations.update(json.load(handle))
    for entry in catalog:
        if entry.obsolete:
            continue
        if entry.msgid in translations:
            value = translations[entry.msgid]
            if entry.msgid_plural:
                entry.msgstr_plural = {0: value[0], 1: value[1]} if isinstance(value, list) else {0: value, 1: value}
            else:
                entry.msgstr = value
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
                entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    catalog.save(path)
    missing = [e.msgid for e in catalog if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    for msgid in missing:
        print(f"still open: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
