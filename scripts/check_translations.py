"""Fails when a message catalog has an untranslated or fuzzy entry, listing each one."""

import re
import sys


def entries(text: str):
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block or re.search(r"^#,.*fuzzy", block, re.M)
        msgid = "".join(re.findall(r'^(?:msgid|msgid_plural)?\s*"(.*)"$', block.split("msgstr")[0], re.M))
        msgstrs = re.findall(r'^msgstr(?:\[\d+\])?\s+"(.*)"\n?((?:".*"\n?)*)', block, re.M)
        if not msgid or "msgstr" not in block:
            continue
        values = ["".join([first, *re.findall(r'"(.*)"', rest)]) for first, rest in msgstrs]
        yield msgid, values, bool(fuzzy)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    problems = [
        (msgid, "fuzzy" if fuzzy else "untranslated")
        for msgid, values, fuzzy in entries(text)
        if fuzzy or not values or any(not v for v in values)
    ]
    for msgid, why in problems:
        print(f"{path}: {why}: {msgid[:100]}")
    print(f"{path}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
