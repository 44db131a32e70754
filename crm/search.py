"""Global search: a registry that apps fill, and one backend per database.

Each searchable model keeps a normalised `search_key` (see crm.text and
SearchIndexedModel). Every query is restricted by the model's `visible_to(user)`, so search
never shows a record its user could not open.

- Everywhere: every query token (in any of its spellings) must occur in the key. On
  Postgres the substring match uses a GIN trigram index, on SQLite a plain LIKE.
- Postgres only, when that finds too little: trigram word similarity for typos
  ("Schmitt" finds "Schmidt") and full-text search with the German and simple configurations,
  each backed by a GIN index (made by `postgres_search_index_operations`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, migrations
from django.db.models import BooleanField, Case, F, IntegerField, Q, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Length

from crm.text import query_terms, unaccent

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class SearchProvider:
    kind: str
    label: str  # plural, shown as the group heading
    model: type
    describe: Callable  # obj -> (title, subtitle)
    icon: str = "search"
    order: int = 100
    select_related: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    # (queryset, user) -> queryset: what the subtitle needs beyond `only`, as a constant number
    # of queries (a person's organization is a prefetch of the organizations the user may see).
    prepare: Callable | None = None

    def queryset(self, user):
        qs = self.model.objects.visible_to(user)
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        if self.only:
            qs = qs.only(*self.only)
        if self.prepare is not None:
            qs = self.prepare(qs, user)
        return qs


@dataclass(frozen=True)
class SearchHit:
    kind: str
    title: str
    subtitle: str
    url: str
    obj: object


_providers: dict[str, SearchProvider] = {}


def register(provider: SearchProvider) -> None:
    _providers[provider.kind] = provider


def providers() -> list[SearchProvider]:
    return sorted(_providers.values(), key=lambda p: p.order)


def clean_query(raw: str | None) -> str:
    return " ".join((raw or "").split())[:MAX_QUERY_LENGTH]


def is_searchable(query: str) -> bool:
    return len(query) >= MIN_QUERY_LENGTH and bool(query_terms(query))


def substring_condition(terms: list[list[str]]) -> Q:
    condition = Q()
    for alternatives in terms:
        any_spelling = Q()
        for spelling in alternatives:
            any_spelling |= Q(search_key__contains=spelling)
        condition &= any_spelling
    return condition


def _postgres_fuzzy_filter(query: str, table: str) -> Q:
    normalised = unaccent(query)
    # Qualified by table: a provider that joins another searchable model (a deal with its
    # organization) would otherwise make `search_key` ambiguous.
    column = f"{connection.ops.quote_name(table)}.search_key"
    # The table name comes from model metadata, quoted; the query text is a parameter.
    fulltext = RawSQL(  # noqa: S611  # nosec B611
        f"(to_tsvector('german'::regconfig, {column}) @@ plainto_tsquery('german'::regconfig, %s)"
        f" OR to_tsvector('simple'::regconfig, {column}) @@ plainto_tsquery('simple'::regconfig, %s))",
        (normalised, normalised),
        output_field=BooleanField(),
    )
    return Q(search_key__trigram_word_similar=normalised) | Q(fulltext)


EXACT, PREFIX, INSIDE = 0, 1, 2


def match_rank(terms: list[list[str]]):
    """An expression that is lowest for the best match: per query term, 0 when a word of the key
    is the term (any spelling), 1 when a word starts with it, 2 when it only occurs inside a word.
    It runs in the database on SQLite and Postgres alike, so the best rows are among those
    fetched however many others contain the text ("mueller" finds Jürgen Müller before a hundred
    "Muellerstein"s)."""
    rank = Value(0, output_field=IntegerField())
    for alternatives in terms:
        exact = Q()
        prefix = Q()
        for spelling in alternatives:
            exact |= Q(_search_padded__contains=f" {spelling} ")
            prefix |= Q(_search_padded__contains=f" {spelling}")
        rank = rank + Case(
            When(exact, then=Value(EXACT)), When(prefix, then=Value(PREFIX)), default=Value(INSIDE),
            output_field=IntegerField(),
        )
    return rank


def search_queryset(qs, query: str, limit: int):
    """Matching rows of `qs`, at most `limit`, best first: exact word matches, then words that
    start with the query, then the rest; shorter keys (fewer other words) first within a rank."""
    terms = query_terms(query)
    if not terms:
        return []
    ranked = (
        qs.filter(substring_condition(terms))
        .annotate(_search_padded=Concat(Value(" "), F("search_key"), Value(" "), output_field=TextField()))
        .annotate(_search_rank=match_rank(terms))
    )
    if max(len(spelling) for alternatives in terms for spelling in alternatives) < 3:
        # One or two letters: no trigram narrows these, so ranking every match would read the whole
        # table; the first rows found are ranked instead (the user is still typing).
        hits = sorted(ranked.order_by()[: limit * 4], key=lambda o: (o._search_rank, len(o.search_key)))[:limit]
    else:
        hits = list(ranked.order_by("_search_rank", Length("search_key"), "pk")[:limit])
    # Within a rank, alphabetical by what the user reads.
    hits.sort(key=lambda o: (o._search_rank, str(o).lower()))
    if len(hits) < limit and connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramWordSimilarity

        seen = [h.pk for h in hits]
        more = (
            qs.filter(_postgres_fuzzy_filter(query, qs.model._meta.db_table))
            .exclude(pk__in=seen)
            .annotate(_similarity=TrigramWordSimilarity(unaccent(query), "search_key"))
            .order_by("-_similarity")[: limit - len(hits)]
        )
        hits.extend(more)
    return hits


def search(user, query: str, *, kinds: list[str] | None = None, limit: int = 5) -> list[tuple[SearchProvider, list[SearchHit]]]:
    """Results grouped by kind, for the records this user may see."""
    query = clean_query(query)
    if not is_searchable(query):
        return []
    groups = []
    for provider in providers():
        if kinds and provider.kind not in kinds:
            continue
        objects = search_queryset(provider.queryset(user), query, limit)
        if objects:
            hits = [
                SearchHit(provider.kind, *provider.describe(obj), obj.get_absolute_url(), obj) for obj in objects
            ]
            groups.append((provider, hits))
    return groups


def postgres_search_index_operations(table: str) -> list:
    """Migration operations that add the search indexes to `table` on Postgres only."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_search_trgm ON {table} USING gin (search_key gin_trgm_ops)"
        )
        for config in ("german", "simple"):
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_search_fts_{config} ON {table} "
                f"USING gin (to_tsvector('{config}'::regconfig, search_key))"
            )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in ("trgm", "fts_german", "fts_simple"):
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_search_{name}")

    return [migrations.RunPython(forwards, backwards, elidable=False)]
