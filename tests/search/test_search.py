"""Search: residents find published courses by Chinese words and phrases, pinyin, initials,
mixed Chinese and English, and traditional characters; facets, pages and suggestions."""

from __future__ import annotations

import pytest
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser
from whoosh.query import NullQuery

from lms.search.index import course_document
from lms.search.query import _highlight_terms, search
from tests.search.conftest import CATALOGUE

PIG = "生猪科学养殖技术"
CITRUS = "柑橘病虫害防治"
ELDERLY = "老年人高血压的饮食调理"
PHONE = "智能手机使用入门"
LAW = "民法典与农村土地承包"
PYTHON = "Python3编程入门"
HERBS = "中药材种植与加工"
FIRST_AID = "家庭急救知识"

QUERIES = [
    # words, from titles, summaries, lesson titles and lesson text
    ("养殖", {PIG}),
    ("生猪", {PIG}),
    ("猪", {PIG}),
    ("柑橘", {CITRUS}),
    ("病虫害", {CITRUS}),
    ("红蜘蛛", {CITRUS}),
    ("高血压", {ELDERLY}),
    ("太极拳", {ELDERLY}),
    ("微信", {PHONE}),
    ("诈骗", {PHONE}),
    ("民法典", {LAW}),
    ("宅基地", {LAW}),
    ("川芎", {HERBS}),
    ("心肺复苏", {FIRST_AID}),
    ("疫苗", {PIG}),
    # teachers, provider units and towns
    ("周老师", {CITRUS, LAW}),
    ("赵老师", {HERBS}),
    ("嘉明镇", {CITRUS, LAW, HERBS}),
    ("法制教育", {LAW}),
    # phrases, and several words (all must be found)
    ('"科学养殖"', {PIG}),
    ('"疫苗接种"', {PIG}),
    ('"土地承包"', {LAW}),
    ('"养殖科学"', set()),
    ("养殖 技术", {PIG}),
    ("高血压 饮食", {ELDERLY}),
    ("柑橘 高血压", set()),
    ("柑橘 OR 高血压", {CITRUS, ELDERLY}),
    ("入门 NOT 手机", {PYTHON, ELDERLY}),
    # full pinyin of titles: joined words, syllables, whole words in capitals
    ("yangzhi", {PIG}),
    ("yang zhi", {PIG}),
    ("shengzhu", {PIG}),
    ("ganju", {CITRUS}),
    ("gaoxueya", {ELDERLY}),
    ("zhinengshouji", {PHONE}),
    ("YangZhi", {PIG}),
    # initials of title words, and of the whole title
    ("yz", {PIG}),
    ("gxy", {ELDERLY}),
    ("zyc", {HERBS}),
    ("szkxyzjs", {PIG}),
    # mixed Chinese, English and digits
    ("Python3", {PYTHON}),
    ("python", {PYTHON}),
    ("python3入门", {PYTHON}),
    ("Python 编程", {PYTHON}),
    ("hello world", {PYTHON}),
    ("5克 食盐", {ELDERLY}),
    ("100 按压", {FIRST_AID}),
    # traditional characters find the simplified text
    ("養殖", {PIG}),
    ("柑橘病蟲害", {CITRUS}),
    ("高血壓", {ELDERLY}),
    ("電信詐騙", {PHONE}),
    ('"科學養殖"', {PIG}),
    ("中藥材", {HERBS}),
    # drafts and archived courses are never found
    ("水产", set()),
    ("大棚", set()),
]


def titles(q: str, **options) -> set[str]:
    """The courses found by the words of *q* (none when only the OR fallback found some)."""
    found = search(q, **options)
    return set() if found.fallback else {hit.title for hit in found.items}


@pytest.mark.parametrize(("q", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_query_finds_the_expected_courses(catalogue, q, expected):
    assert titles(q) == expected


def test_there_are_many_queries():
    assert len(QUERIES) >= 40
    assert sum(1 for q, expected in QUERIES if expected) >= 40


def test_whoosh_standard_analyzer_would_miss_chinese_words(catalogue):
    """Why jieba: Whoosh's StandardAnalyzer takes a Chinese sentence for one word."""
    schema = Schema(id=ID(stored=True), content=TEXT(analyzer=StandardAnalyzer()))
    index = RamStorage().create_index(schema)
    with index.writer() as writer:
        for course in catalogue.values():
            writer.add_document(id=str(course.id), content=course_document(course)["content"])
    # words inside longer runs of characters (a lesson titled exactly 宅基地 would be found)
    chinese_words = ["养殖", "生猪", "猪", "柑橘", "病虫害", "红蜘蛛", "高血压", "微信", "诈骗"]
    chinese_words += ["民法典", "川芎", "疫苗", "土地承包", "食盐", "按压"]
    with index.searcher() as searcher:
        parser = QueryParser("content", schema)
        standard_hits = {q: len(searcher.search(parser.parse(q))) for q in chinese_words}
    assert all(count == 0 for count in standard_hits.values()), standard_hits
    assert all(titles(q) for q in chinese_words)


def test_only_published_courses_are_indexed(catalogue):
    assert search("农村实用技术").total == 5
    assert len(CATALOGUE) == 8


def test_snippets_highlight_the_words(catalogue):
    [hit] = search("疫苗").items
    assert "<mark" in hit.snippet
    assert "疫苗" in hit.snippet
    [hit] = search("Python3").items
    assert hit.snippet  # found by title: the excerpt's beginning


def test_snippets_are_escaped(teachers, categories):
    from tests.search.conftest import build_course

    build_course(
        teachers,
        categories,
        "防骗知识",
        "法制教育",
        "li",
        "<p>小心 &lt;script&gt;alert(1)&lt;/script&gt; 骗局</p>",
        [("第一课", "<p>骗局种类</p>")],
    )
    snippet = search("骗局").items[0].snippet
    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet


def test_facets_by_category_and_town(catalogue, categories):
    found = search("入门")  # Python3编程入门, 智能手机使用入门, 太极拳入门 in 老年人…
    farming, health = categories["农村实用技术"].id, categories["健康养生"].id
    assert found.categories == {farming: 2, health: 1}
    assert found.towns == {"福集镇": 3}
    found = search("种植 OR 柑橘 OR 养殖")
    assert found.towns == {"福集镇": 1, "嘉明镇": 2}


def test_filters_by_category_and_town(catalogue, categories):
    health = categories["健康养生"].id
    assert titles("入门", category_id=health) == {ELDERLY}
    # the category counts still show every category of the query
    assert len(search("入门", category_id=health).categories) == 2
    assert titles("种植 OR 柑橘 OR 养殖", town="嘉明镇") == {CITRUS, HERBS}
    assert titles("养殖", category_id=999) == set()


def test_pagination(catalogue):
    query = "农村实用技术"
    pages = [search(query, page=n, per_page=2) for n in (1, 2, 3)]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert all(p.total == 5 and p.pages == 3 for p in pages)
    seen = [hit.id for p in pages for hit in p.items]
    assert len(set(seen)) == 5
    assert search(query, page=4, per_page=2).items == []


@pytest.mark.parametrize(
    ("q", "suggestion"),
    [("样植", "养殖"), ("柑菊", "柑橘"), ("高雪压", "高血压"), ("shengzu", "shengzhu")],
)
def test_suggestions_for_near_misses(catalogue, q, suggestion):
    found = search(q)
    assert titles(q) == set()  # nothing has every word; related courses may follow
    assert found.suggestion == suggestion
    assert search(found.suggestion).total > 0
    assert not search(found.suggestion).fallback


def test_no_suggestion_for_nonsense(catalogue):
    assert search("量子力学").suggestion is None


def test_not_keeps_its_word_out_even_when_nothing_matches(catalogue):
    """The only course on 养殖 is about 猪: none is found, and the OR fallback does not bring
    the excluded course back."""
    found = search("养殖 NOT 猪")
    assert found.items == []
    assert not found.fallback
    assert titles("养殖 NOT 柑橘") == {"生猪科学养殖技术"}


def test_snippets_do_not_mark_operators_quotes_or_excluded_words(catalogue):
    marks = _highlight_terms(NullQuery, '"疫苗" OR (饲料 and) NOT 猪舍')
    assert {"疫苗", "饲料", "and"} <= set(marks)
    assert not {'"疫苗"', "or", "(饲料", "not", "猪舍"} & set(marks)
    [hit] = search('"疫苗" OR 疫苗').items
    assert "<mark>疫苗</mark>" in hit.snippet.replace('<mark class="hl">', "<mark>")
