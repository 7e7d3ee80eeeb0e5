"""Answering a resident's query: parsing (Chinese words, phrases, pinyin, initials, traditional
characters), facets by category and town, highlighted snippets, pages, and a suggestion when
nothing is found (您是不是要找…)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

from whoosh import highlight, qparser, sorting
from whoosh.query import And, Every, NullQuery, Query, Term

from lms.core.paging import Paged
from lms.search.analysis import has_cjk, query_pinyin, words
from lms.search.index import make_schema, searcher

MAX_QUERY_CHARS = 100
FIELDS = ["title", "content", "title_pinyin", "title_initials"]
_schema = make_schema()


@dataclass
class Hit:
    id: int
    title: str
    snippet: str  # HTML: escaped text with <mark> around the matched words
    category_id: int
    town: str
    provider: str
    type: str = "course"


@dataclass(kw_only=True)
class Results(Paged):
    """One page of hits (``Paged``: items, total, page, per_page, pages) with its facets."""

    q: str
    items: list[Hit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20
    categories: dict[int, int] = field(default_factory=dict)  # category id -> count
    towns: dict[str, int] = field(default_factory=dict)  # town name -> count
    suggestion: str | None = None


def _parser(*, operators: bool = True) -> qparser.QueryParser:
    parser = qparser.MultifieldParser(FIELDS, _schema, group=qparser.AndGroup)
    # Residents type words, not query syntax: no field names, wildcards, ranges or boosts
    # (they would reach fields residents must not search, or be slow).
    for plugin in (
        qparser.FieldsPlugin,
        qparser.WildcardPlugin,
        qparser.RangePlugin,
        qparser.BoostPlugin,
        qparser.EveryPlugin,
        qparser.SingleQuotePlugin,
    ):
        parser.remove_plugin_class(plugin)
    if not operators:
        parser.remove_plugin_class(qparser.OperatorsPlugin)
        parser.remove_plugin_class(qparser.GroupPlugin)
        parser.remove_plugin_class(qparser.PhrasePlugin)
    return parser


def clean_query(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY_CHARS]


def parse(text: str) -> Query:
    """*text* as a query: AND OR NOT, "phrases" and (groups) work; anything the parser cannot
    make sense of is searched as plain words."""
    try:
        query = _parser().parse(text)
    except Exception:  # whoosh's parser raises assorted errors on odd syntax
        query = None
    if query is None or query is NullQuery or not _has_terms(query):
        plain = re.sub(r"[^\w\s]", " ", text)
        query = _parser(operators=False).parse(plain) if plain.strip() else NullQuery
    return query


def _has_terms(query: Query) -> bool:
    try:
        return bool(query.all_terms())
    except Exception:
        return False


def search(
    text: str | None,
    *,
    category_id: int | None = None,
    town: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Results:
    """Published courses matching *text*, best first, one page of them."""
    q = clean_query(text)
    results = Results(q=q, page=page, per_page=per_page)
    if not q:
        return results
    query = parse(q)
    if query is NullQuery:
        return results
    s = searcher()
    filters = [Term("category", str(category_id))] if category_id is not None else []
    if town:
        filters.append(Term("town", town))
    found = s.search_page(
        query,
        page,
        pagelen=per_page,
        filter=And(filters) if filters else None,
        terms=True,
        groupedby={"town": sorting.FieldFacet("town")},
        maptype=sorting.Count,
    )
    results.total = found.total
    results.towns = dict(found.results.groups("town"))
    # Category counts for the query as a whole, so the other categories stay reachable.
    everywhere = s.search(
        query,
        limit=1,
        filter=Term("town", town) if town else None,
        groupedby={"category": sorting.FieldFacet("category")},
        maptype=sorting.Count,
    )
    results.categories = {int(k): v for k, v in everywhere.groups("category").items()}
    if found.pagenum == page:  # whoosh clamps a page past the end to the last page
        found.results.fragmenter = highlight.ContextFragmenter(maxchars=160, surround=40)
        found.results.formatter = highlight.HtmlFormatter(tagname="mark", between="…")
        for hit in found:
            excerpt = hit["excerpt"]
            snippet = hit.highlights("content", text=excerpt, top=2) or escape(excerpt[:120])
            results.items.append(
                Hit(
                    id=int(hit["id"]),
                    title=hit["title"],
                    snippet=snippet,
                    category_id=int(hit["category"]),
                    town=hit["town"],
                    provider=hit["provider"],
                )
            )
    if results.total == 0:
        results.suggestion = suggest(q)
    return results


def suggest(q: str) -> str | None:
    """A nearby query that finds something: the title words that sound like *q* (样植 → 养殖,
    yangzi → yangzhi), or Whoosh's spelling correction of the words."""
    s = searcher()
    spoken = query_pinyin(q) if has_cjk(q) else re.sub(r"[^a-z]", "", q.lower())
    if spoken:
        hits = s.search(Term("title_pinyin", spoken), limit=1)
        if hits:
            return _sounding_words(hits[0]["title"], spoken) or hits[0]["title"]
    try:
        corrected = s.correct_query(parse(q), q, maxdist=1)
    except Exception:
        return None
    if corrected.string != q and s.search(corrected.query, limit=1):
        return corrected.string
    return None


def _sounding_words(title: str, spoken: str) -> str | None:
    """The run of words in *title* whose pinyin is *spoken*."""
    segments = words(title)
    sounds = [query_pinyin(word) for word in segments]
    for start in range(len(segments)):
        for end in range(start + 1, len(segments) + 1):
            if "".join(sounds[start:end]) == spoken:
                return "".join(segments[start:end])
    return None


def count_all() -> int:
    return searcher().search(Every(), limit=1).total
