"""File downloads every app offers the same way: CSV that a German Excel opens directly (UTF-8
with BOM, ';' between values, dates as DD.MM.YYYY, numbers with the language's decimal
separator) and that cannot run formulas: text cells starting with = + - @, tab or carriage
return get a leading single quote (CSV injection, OWASP). Phone numbers are written as they are:
"+49 30 1234567" is a number to dial, not a formula. Streamed, a few hundred rows per piece, so
that a big export never sits in memory."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import formats, timezone
from django.utils.text import slugify
from phonenumber_field.phonenumber import PhoneNumber

BOM = "\ufeff"
DELIMITER = ";"
ROWS_PER_WRITE = 200
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What a validated phone number looks like when written out: a plus, then only digits, spaces and
# hyphens (the international format of some countries: "+1 202-555-0123"). Such
# a cell has no function call, no cell reference and no DDE command, so a spreadsheet can compute
# nothing harmful from it; that is why it may keep its leading "+".
_PHONE_TEXT = re.compile(r"^\+[0-9][0-9 -]*$")


def safe_cell(value) -> str:
    """The cell as text, neutralised when a spreadsheet would treat it as a formula.

    OWASP's CSV injection guidance (https://owasp.org/www-community/attacks/CSV_Injection): prefix
    cells beginning with =, +, -, @, tab or carriage return with a single quote. The one exception is
    a phone number from a phone field (a valid PhoneNumber, written as "+" and digits):
    exporters must not mangle it, and it cannot carry a formula. A text that merely looks like a
    phone number (a free-text column) is still guarded, so nothing typed by a user passes unquoted."""
    if value is None:
        return ""
    if isinstance(value, PhoneNumber):
        if not value.is_valid():
            return _guarded(value.raw_input or "")
        text = str(value)
        return text if _PHONE_TEXT.match(text) else _guarded(text)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        # A number is data, never a formula (also when negative); the decimal separator of the
        # user's language, so German Excel reads 1234,50 as a number.
        return formats.number_format(value, use_l10n=True)
    if isinstance(value, datetime):
        text = timezone.localtime(value).strftime("%d.%m.%Y %H:%M") if timezone.is_aware(value) else value.strftime("%d.%m.%Y %H:%M")
    elif isinstance(value, date):
        text = value.strftime("%d.%m.%Y")
    else:
        text = str(value)
    return _guarded(text)


def _guarded(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The BOM, the header and the rows as CSV text, a few hundred rows per piece."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe_cell(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if count % ROWS_PER_WRITE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(name: str, header: list, rows: Iterable) -> StreamingHttpResponse:
    """A streamed CSV download named "<name>-<today>.csv" (the name slugified)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(name)}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
