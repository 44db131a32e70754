"""Excel workbooks (.xlsx) read as the lines of a CSV file, for contacts.services.importing.

The first sheet is read; its first non-empty row is the header, every later non-empty row a line
whose number is the row number Excel shows, so that the report of rejected lines points at the row.
Each cell becomes the text a CSV export of the sheet would hold, so that from there on a workbook
takes the same path (mapping, preview, converters, line report) as a CSV file:

- a text cell as it is ("01067" stays "01067"),
- a whole number without ".0" (a postal code or phone number typed as a number: 1067, 1701234567),
- a date cell as YYYY-MM-DD, which the date converter reads (German Excel stores dates as date cells),
- a formula as the value Excel last calculated and saved with the file (data_only).

Safety: openpyxl parses the XML with defusedxml when it is installed (it is, see requirements.txt),
which refuses entity expansion ("billion laughs") and external entities. Read-only mode streams the
sheet instead of building it in memory. Against a zip bomb (a small file that unpacks to gigabytes),
the archive's declared uncompressed sizes are checked before openpyxl opens it; Python's zipfile
never returns more bytes for a member than its declared size, so the declaration cannot lie.
"""

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# A legitimate workbook unpacks to five to ten times its size; 50 MB of xlsx to about 500 MB.
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
# The shared strings (every distinct text of the workbook) are held in memory by openpyxl.
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
# Excel's own limit of rows in a sheet; nothing larger is an Excel file.
MAX_ROWS = 1_048_576


def _not_a_workbook() -> ValidationError:
    return ValidationError(
        _("This is not a valid Excel workbook (.xlsx). Is it password-protected or damaged? "
          "Open it in Excel and save it again as “Excel Workbook (.xlsx)” or as CSV."),
        code="xlsx",
    )


def check_archive(fileobj) -> None:
    """Refuse what is not a zip archive with a workbook in it, or unpacks to too much. Raises ValidationError."""
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise _not_a_workbook() from None
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise _not_a_workbook()
    total = sum(member.file_size for member in members)
    shared = sum(member.file_size for member in members if member.filename.lower() == "xl/sharedstrings.xml")
    if total > MAX_UNCOMPRESSED_BYTES or shared > MAX_SHARED_STRINGS_BYTES:
        raise ValidationError(
            _("The workbook unpacks to more than %(size)d MB. Please split it into smaller files.")
            % {"size": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)},
            code="size",
        )


def cell_text(value) -> str:
    """The text a CSV export would hold for a cell's value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


@contextmanager
def _first_sheet(fileobj):
    from openpyxl import load_workbook  # only imported by the workers and uploads that need it

    check_archive(fileobj)
    fileobj.seek(0)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises KeyError, ValueError, TypeError, XML errors … for a broken file
        raise _not_a_workbook() from None
    try:
        if not workbook.worksheets:
            raise _not_a_workbook()
        yield workbook.worksheets[0]
    finally:
        workbook.close()


def _rows(sheet, *, max_col: int) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of every non-empty row, cut at max_col columns."""
    try:
        for number, values in enumerate(sheet.iter_rows(min_col=1, max_col=max_col, values_only=True), start=1):
            if number > MAX_ROWS:
                raise ValidationError(
                    _("The sheet has more than %(max)d rows.") % {"max": MAX_ROWS}, code="rows"
                )
            cells = [cell_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                yield number, cells
    except ValidationError:
        raise
    except Exception:  # a sheet that turns out broken halfway
        raise _not_a_workbook() from None


def read_header(fileobj, *, max_columns: int) -> list[str]:
    """The first non-empty row of the first sheet, without its trailing empty cells.

    Read up to one column more than max_columns, so that the caller can tell a header that is too wide."""
    with _first_sheet(fileobj) as sheet:
        for _number, cells in _rows(sheet, max_col=max_columns + 1):
            cells = [cell.strip() for cell in cells]
            while cells and not cells[-1]:
                cells.pop()
            return cells
    return []


def records(fileobj, *, width: int) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each non-empty row after the header, `width` cells each.

    Cells right of the header's last column name nothing the mapping can choose, so they are not read."""
    with _first_sheet(fileobj) as sheet:
        rows = _rows(sheet, max_col=max(width, 1))
        next(rows, None)  # the header
        yield from rows
