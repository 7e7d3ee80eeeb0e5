"""Answering a resident's query: parsing (Chinese words, phrases, pinyin, initials, traditional
characters, mixed scripts), the bigram recall net, the OR fallback when the words find nothing,
facets by category and town, highlighted snippets, pages, and a suggestion (您是不是要找…).

Speed: the matching courses are collected once per query (no scoring) and both facets counted
from them, with each course's category and town read from arrays made once per searcher (that
is, per index generation), where the matches of recent queries are kept too; only the page's
hits are scored into order, loaded and given a snippet, by plain string search in their
excerpt rather than by running jieba over it again.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from html import escape

from whoosh import qparser
from whoosh.query import And, Every, NullQuery, Or, Phrase, Query, Term
from whoosh.searching import Searcher

from lms.core.paging import Paged
from lms.search.analysis import bigrams, has_cjk, query_pinyin, simplified_chars, words
from lms.search.index import make_schema, searcher

MAX_QUERY_CHARS = 100
FIELDS = ["title", "content", "title_pinyin", "title_initials"]
FIELDS += ["heading_pinyin", "heading_initials"]
BIGRAM_BOOST = 0.3  # a course found only by the recall net ranks below word matches
CACHED_QUERIES = 256
SNIPPET_CHARS, SNIPPET_BEFORE = 160, 40
# Characters too common to find anything by in the fallback.
STOP_CHARS = set("的了和与及是在我你他她它们有个之怎么吗呢啊吧呀哪谁什这那也都就还又或")
_OPERATORS = re.compile(r'["()]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b')
# NOT or ANDNOT and what they exclude (a word, a "phrase" or a (group)).
_NEGATED = re.compile(r'\b(?:NOT|ANDNOT)\b\s*(?:"[^"]*"?|\([^)]*\)?|[^\s"()]+)?')
_SCRIPT_BOUNDARY = re.compile(
    r"(?<=[A-Za-z])(?=[\u3400-\u9fff\uf900-\ufaff])|(?<=[\u3400-\u9fff\uf900-\ufaff])(?=[A-Za-z])"
)
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
    # Nothing matched every word: these are the courses matching some of them (or their pinyin).
    fallback: bool = False


def _parser(schema, *, operators: bool = True, group=qparser.AndGroup) -> qparser.QueryParser:
    fields = [name for name in FIELDS if name in schema]  # an index from before has fewer
    parser = qparser.MultifieldParser(fields, schema, group=group)
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


def separate_scripts(text: str) -> str:
    """Pinyin typed against Chinese is two words: zhineng手机 → zhineng 手机."""
    return _SCRIPT_BOUNDARY.sub(" ", text)


def parse(text: str, schema=None) -> Query:
    """*text* as a query: AND OR NOT, "phrases" and (groups) work; anything the parser cannot
    make sense of is searched as plain words. Plain words (no operators) each match by their
    words, pinyin or initials, or else by the bigrams of titles, lesson titles and categories."""
    schema = schema or _schema
    text = separate_scripts(text)
    if not _OPERATORS.search(text):
        query = _plain(text, schema)
        if query is not NullQuery:
            return query
    try:
        query = _parser(schema).parse(text)
    except Exception:  # whoosh's parser raises assorted errors on odd syntax
        query = None
    if query is None or query is NullQuery or not _has_terms(query):
        plain = re.sub(r"[^\w\s]", " ", text)
        query = _parser(schema, operators=False).parse(plain) if plain.strip() else NullQuery
    return query


def _plain(text: str, schema) -> Query:
    parser = _parser(schema, operators=False)
    parts = []
    for token in re.sub(r"[^\w\s]", " ", text).split():
        try:
            by_words = parser.parse(token)
        except Exception:
            by_words = NullQuery
        if by_words is NullQuery or not _has_terms(by_words):
            continue
        runs = bigrams(token) if not re.search(r"[A-Za-z0-9]", token) else []
        if runs and "grams" in schema:
            net = And(
                [Phrase("grams", run) if len(run) > 1 else Term("grams", run[0]) for run in runs]
            )
            net.boost = BIGRAM_BOOST
            parts.append(Or([by_words, net]))
        else:
            parts.append(by_words)
    if not parts:
        return NullQuery
    return parts[0] if len(parts) == 1 else And(parts)


def fallback_query(text: str, digest: str | None) -> Query:
    """The query's words and characters joined with OR, with each word's pinyin (so a word
    typed with the wrong characters but the right sound, 样植 → yangzhi, is found). Operators,
    quotes and brackets are not words."""
    terms: list[Query] = []
    for word in words(_OPERATORS.sub(" ", separate_scripts(text)), digest):
        word = word.lower()
        terms += [Term("title", word), Term("content", word)]
        if has_cjk(word):
            for char in dict.fromkeys(word):
                if char not in STOP_CHARS and len(word) > 1:
                    terms.append(Term("title", char, boost=0.5))  # in titles only: fast
            spoken = query_pinyin(word)
            if spoken:
                terms.append(Term("title_pinyin", spoken, boost=3.0))
                terms.append(Term("heading_pinyin", spoken))
        elif word.isascii():
            terms += [Term(name, word) for name in FIELDS if "_" in name]
    return Or(terms) if terms else NullQuery


def _has_terms(query: Query) -> bool:
    try:
        return bool(query.all_terms())
    except Exception:
        return False


# What is kept per searcher (that is, per index generation) ------------------------------------


class _Memo:
    """Each course's category and town by document number, and the matches of recent
    queries, for one searcher."""

    def __init__(self, s: Searcher):
        size = s.doc_count_all()
        self.category: list[str | None] = [None] * size
        self.town: list[str | None] = [None] * size
        for name, column in (("category", self.category), ("town", self.town)):
            if name in s.schema:
                for value in s.reader().field_terms(name):
                    for docnum in s.postings(name, value).all_ids():
                        column[docnum] = value
        analyzer = s.schema["title"].analyzer
        self.digest = getattr(getattr(analyzer, "items", [None])[0], "digest", None)
        self.schema = s.schema
        self.matches: OrderedDict[tuple, tuple[Query, list[int]]] = OrderedDict()
        self.lock = threading.Lock()

    def matching(self, s: Searcher, key: tuple, make) -> tuple[Query, list[int]]:
        with self.lock:
            found = self.matches.get(key)
            if found is not None:
                self.matches.move_to_end(key)
                return found
        query = make()
        docs = [] if query is NullQuery else list(s.docs_for_query(query))
        with self.lock:
            self.matches[key] = (query, docs)
            while len(self.matches) > CACHED_QUERIES:
                self.matches.popitem(last=False)
        return query, docs


def _memo(s: Searcher) -> _Memo:
    memo = getattr(s, "_lms_memo", None)
    if memo is None:
        memo = s._lms_memo = _Memo(s)
    return memo


# Searching ----------------------------------------------------------------------------------


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
    s = searcher()
    memo = _memo(s)
    query, docs = memo.matching(s, ("words", q), lambda: parse(q, memo.schema))
    if query is NullQuery:
        return results
    if not docs:
        if _NEGATED.search(separate_scripts(q)):
            return results  # any of the words would bring back what NOT excludes
        results.fallback = True
        results.suggestion = suggest(q)
        query, docs = memo.matching(s, ("any", q), lambda: fallback_query(q, memo.digest))
        if not docs:
            results.fallback = False
            return results

    # Both facets from one pass over the matches: categories within the town chosen, towns
    # within the category and town chosen (as the filters narrow the list).
    wanted_category = str(category_id) if category_id is not None else None
    categories: Counter = Counter()
    towns: Counter = Counter()
    allowed = set()
    for docnum in docs:
        doc_town = memo.town[docnum]
        if town and doc_town != town:
            continue
        doc_category = memo.category[docnum]
        categories[doc_category] += 1
        if wanted_category is not None and doc_category != wanted_category:
            continue
        allowed.add(docnum)
        towns[doc_town] += 1
    results.categories = {int(k): v for k, v in categories.items() if k is not None}
    results.towns = {k: v for k, v in towns.items() if k is not None}
    results.total = len(allowed)

    first = (page - 1) * per_page
    if first >= results.total:
        return results
    narrowed = allowed if (town or wanted_category is not None) else None
    ranked = s.search(query, limit=first + per_page, filter=narrowed)
    marks = _highlight_terms(query, q)
    for _score, docnum in ranked.top_n[first:]:  # not len(ranked): that counts all again
        fields = s.stored_fields(docnum)
        results.items.append(
            Hit(
                id=int(fields["id"]),
                title=fields["title"],
                snippet=snippet(fields.get("excerpt") or "", marks),
                category_id=int(fields["category"]),
                town=fields["town"],
                provider=fields["provider"],
            )
        )
    return results


def _highlight_terms(query: Query, q: str) -> list[str]:
    """What to mark in a snippet: the query's words in the text fields, longest first."""
    found = {
        text.decode() if isinstance(text, bytes) else str(text)
        for fieldname, text in query.iter_all_terms()
        if fieldname in ("title", "content")
    }
    typed = _OPERATORS.sub(" ", _NEGATED.sub(" ", separate_scripts(q)))
    found |= {word.lower() for word in typed.split() if len(word) > 1}
    return sorted((t for t in found if t.strip()), key=len, reverse=True)


def snippet(excerpt: str, marks: list[str]) -> str:
    """Up to two pieces of *excerpt* around the first places its words appear, escaped, with
    <mark> around the words; the excerpt's beginning when none appears."""
    if not excerpt:
        return ""
    haystack = simplified_chars(excerpt).lower()
    spans: list[tuple[int, int]] = []
    for mark in marks:
        at = haystack.find(mark)
        while at != -1 and len(spans) < 40:
            end = at + len(mark)
            if not any(a < end and at < b for a, b in spans):
                spans.append((at, end))
            at = haystack.find(mark, end)
    if not spans:
        return escape(excerpt[:120])
    spans.sort()
    pieces: list[tuple[int, int]] = []
    for a, _b in spans:
        if len(pieces) == 2:
            break
        if pieces and a < pieces[-1][1]:
            continue
        start = max(0, a - SNIPPET_BEFORE)
        pieces.append((start, min(len(excerpt), start + SNIPPET_CHARS)))
    out = []
    for start, end in pieces:
        html, cursor = [], start
        for a, b in spans:
            if a >= start and b <= end:
                html += [escape(excerpt[cursor:a]), "<mark>", escape(excerpt[a:b]), "</mark>"]
                cursor = b
        html.append(escape(excerpt[cursor:end]))
        out.append("".join(html))
    return "…".join(out)


def suggest(q: str) -> str | None:
    """A nearby query that finds something: the title words that sound like *q* (样植 → 养殖,
    yangzi → yangzhi), or, for pinyin, the title pinyin one letter away (shengzu → shengzhu).
    Corrections of Chinese words are left out: over the whole text's words they cost tens of
    milliseconds, and the sound of the words already finds what a resident mistyped."""
    s = searcher()
    spoken = query_pinyin(q) if has_cjk(q) else re.sub(r"[^a-z]", "", q.lower())
    if spoken:
        hits = s.search(Term("title_pinyin", spoken), limit=1)
        if hits:
            title = hits[0]["title"]
            return _sounding_words(title, spoken, _memo(s).digest) or title
    if has_cjk(q) or not q.isascii():
        return None
    try:
        plain = qparser.QueryParser("title_pinyin", s.schema).parse(q.lower())
        corrected = s.correct_query(plain, q, maxdist=1)
    except Exception:
        return None
    if corrected.string != q and s.search(corrected.query, limit=1):
        return corrected.string
    return None


def _sounding_words(title: str, spoken: str, digest: str | None) -> str | None:
    """The run of words in *title* whose pinyin is *spoken*."""
    segments = words(title, digest)
    sounds = [query_pinyin(word) for word in segments]
    for start in range(len(segments)):
        for end in range(start + 1, len(segments) + 1):
            if "".join(sounds[start:end]) == spoken:
                return "".join(segments[start:end])
    return None


def count_all() -> int:
    return searcher().search(Every(), limit=1).total
