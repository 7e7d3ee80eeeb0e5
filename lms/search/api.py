"""JSON search under /api/v1."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from lms.core.api import Page, Schema, endpoint
from lms.courses.models import Category
from lms.extensions import db
from lms.search import access, api_bp, operations
from lms.search.models import SearchWord
from lms.search.query import MAX_QUERY_CHARS, search


class SearchQuery(Page):
    q: str = Field("", max_length=MAX_QUERY_CHARS, description="搜索词：中文、拼音、首字母均可")
    category: str | None = Field(None, max_length=40, description="分类名称或编号")
    town: str | None = Field(None, max_length=100, description="提供单位所在乡镇")


class SearchHit(BaseModel):
    type: str
    id: int
    title: str
    snippet: str = Field(description="HTML：已转义的文字，命中的词包在 <mark> 里")
    category_id: int
    town: str
    provider: str


class FacetCount(BaseModel):
    id: int | None = None
    name: str
    count: int


class Facets(BaseModel):
    category: list[FacetCount]
    town: list[FacetCount]


class SearchResults(BaseModel):
    items: list[SearchHit]
    total: int
    page: int
    per_page: int
    facets: Facets
    suggestion: str | None
    fallback: bool = Field(
        description="true：没有完全匹配的结果，以下是只匹配部分词（或读音）的相关课程"
    )


@endpoint(
    api_bp,
    "/search",
    "GET",
    summary="搜索已发布的课程",
    query=SearchQuery,
    response=SearchResults,
    auth=False,
)
def search_courses(query: SearchQuery):
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    found = search(
        query.q,
        category_id=_category_id(query.category, names),
        town=query.town,
        page=query.page,
        per_page=query.per_page,
    )
    categories = [
        FacetCount(id=cid, name=names.get(cid, ""), count=count)
        for cid, count in sorted(found.categories.items(), key=lambda item: -item[1])
    ]
    towns = [
        FacetCount(name=name, count=count)
        for name, count in sorted(found.towns.items(), key=lambda item: -item[1])
    ]
    return SearchResults(
        items=[SearchHit(**vars(hit)) for hit in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        facets=Facets(category=categories, town=towns),
        suggestion=found.suggestion,
        fallback=found.fallback,
    ).model_dump(mode="json")


def _category_id(value: str | None, names: dict[int, str]) -> int | None:
    """A category given by id or by name; an unknown one finds nothing (id 0)."""
    if not value:
        return None
    if value.isdigit():
        return int(value) if int(value) in names else 0
    return next((cid for cid, name in names.items() if name == value), 0)


# The administrators' dictionary words ---------------------------------------------------------


class WordsIn(Schema):
    text: str = Field(
        max_length=operations.MAX_LIST_CHARS,
        description="整个词表：每行一个词，可在词后空一格写词频；替换原来的词表",
    )


class WordOut(BaseModel):
    word: str
    freq: int | None


class WordList(BaseModel):
    items: list[WordOut]
    total: int
    note: str = Field(description="新词在后台重建搜索索引后生效")


def _word_list(rows) -> dict:
    items = [WordOut(word=row.word, freq=row.freq) for row in rows]
    note = _("新词在后台重建搜索索引后生效（通常几分钟）")
    return WordList(items=items, total=len(items), note=note).model_dump(mode="json")


@endpoint(
    api_bp,
    "/search/words",
    "GET",
    summary="县级管理员添加的搜索词（词库）",
    response=WordList,
)
def list_words():
    access.ensure_can_edit_dictionary(current_user)
    return _word_list(db.session.scalars(select(SearchWord).order_by(SearchWord.word)))


@endpoint(
    api_bp,
    "/search/words",
    "PUT",
    summary="替换县级管理员的搜索词表；有错行时整表不保存",
    body=WordsIn,
    response=WordList,
)
def replace_words(body: WordsIn):
    access.ensure_can_edit_dictionary(current_user)
    rows = operations.replace_words(body.text, by=current_user)
    db.session.commit()
    return _word_list(rows)
