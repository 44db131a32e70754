"""Loading many rows fast, for the demo-data seeder and the CSV import.

Like bulk_create it skips save() and signals. Unlike bulk_create it reserves the ids first,
converts only the values that need it (dates, countries, phone numbers, decimals) instead of
sending every value of every row through its field, and loads a batch with one COPY on Postgres
and one prepared statement on SQLite (bulk_create: one statement per 999 parameters).
Call inside the transaction that owns the reserved ids.
"""

import csv
import io
import json
from operator import attrgetter

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Fields whose Python values the database drivers take as they are.
PLAIN_FIELDS = {
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.EmailField,
    models.ForeignKey,
    models.IntegerField,
    models.PositiveBigIntegerField,
    models.PositiveIntegerField,
    models.TextField,
    models.URLField,
}


def needs_conversion(field) -> bool:
    return type(field) not in PLAIN_FIELDS


def prepared(field, value, db):
    """The value as the load takes it. A JSON field's prepared value is a driver adapter whose text is
    quoted SQL, not JSON, so COPY gets the JSON text itself."""
    if isinstance(field, models.JSONField):
        return None if value is None else json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, db)


def database():
    """This thread's default connection object, for get_db_prep_save (look it up once, not per value)."""
    return connections[DEFAULT_DB_ALIAS]


def reserve_ids(model, count: int):
    """`count` new primary keys for `model`, reserved for the current transaction."""
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the write transaction keeps others out; sqlite_sequence keeps ids of deleted
        # rows from coming back (AUTOINCREMENT).
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # nosec B608
            f"COALESCE((SELECT MAX({quote(pk)}) FROM {quote(table)}), 0))",
            [table],
        )
        first = cursor.fetchone()[0] + 1
        return range(first, first + count)


def load_rows(model, fields: list, rows: list) -> None:
    """Insert `rows` (tuples of database values, in the order of `fields`, ids included)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY, the bulk load of Postgres. Unquoted empty CSV values are NULL, except in the
            # NOT NULL columns, where they are the empty strings of blank text fields.
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            buffer.seek(0)
            not_null = ", ".join(quote(field.column) for field in fields if not field.null)
            cursor.cursor.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({not_null}))", buffer
            )
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            # Table and column names come from model metadata, quoted; the values are parameters.
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)  # nosec B608


def insert_objects(model, objs: list) -> None:
    """Store unsaved model instances and set their ids (and foreign keys to objects of the same
    batch that had no id when they were linked). Objects that have an id (reserved with
    `reserve_ids` in this transaction) keep it."""
    assert connection.in_atomic_block, "ids are reserved for the transaction"
    fields = model._meta.concrete_fields
    for field in fields:
        if field.is_relation:
            for obj in objs:
                if getattr(obj, field.attname) is None:
                    related = field.get_cached_value(obj, None)
                    if related is not None:
                        setattr(obj, field.attname, related.pk)
    without_id = [obj for obj in objs if obj.pk is None]
    for obj, pk in zip(without_id, reserve_ids(model, len(without_id)) if without_id else (), strict=True):
        obj.pk = pk
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    db = database()
    getters = [
        (lambda obj, f=field: prepared(f, f.pre_save(obj, True), db))
        if needs_conversion(field)
        else attrgetter(field.attname)
        for field in fields
    ]
    load_rows(model, fields, [tuple(get(obj) for get in getters) for obj in objs])
