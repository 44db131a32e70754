"""File downloads every app offers the same way: CSV that a German Excel opens directly (UTF-8
with BOM, ';' between values, dates as DD.MM.YYYY, numbers with the language's decimal
separator) and that cannot run formulas: text cells starting with = + - @, tab or carriage
return get a leading single quote (CSV injection, OWASP). Streamed, a few hundred rows per piece,
so that a big export never sits in memory."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import formats, timezone
from django.utils.text import slugify

BOM = "\ufeff"
DELIMITER = ";"
ROWS_PER_WRITE = 200
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text, neutralised when a spreadsheet would treat it as a formula."""
    if value is None:
        return ""
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
