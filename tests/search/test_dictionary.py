"""The search dictionary: the project's words.txt, and the words county administrators add on
/search/dictionary or through the API, which take effect when the index is rebuilt; a list with
bad lines is refused whole and the previous one kept."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from lms.accounts.models import Role
from lms.extensions import db
from lms.search.analysis import BASE_WORDS, parse_words, words
from lms.search.index import current_folder, folder_digest
from lms.search.models import SearchWord
from lms.search.query import search
from tests.conftest import api_token, sign_in
from tests.search.conftest import build_course

NEW_WORD = "稻鱼共生"


@pytest.fixture
def county_admin(create_user):
    return create_user(Role.ADMIN, "泸县", name="陈县管")


def admin_words() -> list[tuple[str, int | None]]:
    db.session.expire_all()
    return [(w.word, w.freq) for w in db.session.scalars(select(SearchWord).order_by("word"))]


def live_cut(text: str) -> list[str]:
    return words(text, folder_digest(current_folder()))


def test_the_project_dictionary_holds_the_words_of_community_education():
    listed, bad = parse_words(BASE_WORDS.read_text(encoding="utf-8"))
    assert bad == []
    listed = {word for word, _freq in listed}
    categories = {"非遗", "非遗传承", "法制教育", "科普", "再就业", "农村实用技术", "家庭教育"}
    categories |= {"数字素养", "老年教育"}
    policy = {"学分银行", "终身学习", "社区教育", "学习型组织", "送课进社区", "百姓学习之星"}
    towns = "玉蟾街道 福集镇 嘉明镇 喻寺镇 得胜镇 牛滩镇 兆雅镇 玄滩镇 太伏镇 云龙镇 石桥镇"
    towns += " 毗卢镇 奇峰镇 潮河镇 云锦镇 立石镇 百和镇 天兴镇 方洞镇 海潮镇"
    local = {"龙眼", "油纸伞", "直播带货"}
    for word in categories | policy | set(towns.split()) | local:
        assert word in listed, word
    for town in towns.split():
        assert town.removesuffix("镇") in listed or town == "玉蟾街道"
    # cut as typed, not as jieba alone would (非 / 遗传 / 承)
    assert live_cut("非遗传承") == ["非遗传承"]
    assert live_cut("学习百姓学习之星") == ["学习", "百姓学习之星"]


def test_parse_words_names_every_bad_line():
    text = "# 注释\n\n稻鱼共生\n荷花鸭 500\n坏 词 多\n猪\n😀😀\n好词 abc\n荷花鸭 0\n" + "长" * 21
    listed, bad = parse_words(text)
    assert listed == [("稻鱼共生", None), ("荷花鸭", 500)]
    assert [line.number for line in bad] == [5, 6, 7, 8, 9, 10]
    assert all(str(line.reason) for line in bad)
    assert parse_words("養豬場\nabc12\n")[0] == [("养猪场", None)]  # simplified; ASCII alone: no


def test_county_administrators_add_words_that_take_effect_at_the_rebuild(
    client, county_admin, teachers, categories
):
    build_course(
        teachers, categories, "稻鱼共生技术", "农村实用技术", "li", "", [("放鱼", "<p>鱼苗</p>")]
    )
    assert live_cut(NEW_WORD) != [NEW_WORD]
    before = current_folder()
    sign_in(client, county_admin)
    page = client.get("/search/dictionary")
    assert page.status_code == 200
    assert "重建搜索索引" in page.get_data(as_text=True)
    assert "/search/dictionary" in client.get("/admin/categories").get_data(as_text=True)
    response = client.post("/search/dictionary", data={"words": f"{NEW_WORD}\n荷花鸭 500\n"})
    assert response.status_code == 302
    assert admin_words() == [(NEW_WORD, None), ("荷花鸭", 500)]
    # the worker rebuilt the index with the new list (jobs run at once in tests)
    after = current_folder()
    assert after != before
    assert NEW_WORD in (after / "words.txt").read_text(encoding="utf-8")
    assert live_cut(NEW_WORD) == [NEW_WORD]
    assert [hit.title for hit in search(NEW_WORD).items] == ["稻鱼共生技术"]
    assert NEW_WORD in client.get("/search/dictionary").get_data(as_text=True)


BAD_LISTS = [
    "好词\n坏 词 多 余\n",
    "猪\n",
    "😀😀\n",
    "<script>alert(1)</script>\n",
    "'; DROP TABLE search_word; --\n",
    "词频 -5\n",
    "词频 99999999999\n",
    "x" * 300_000,
]


@pytest.mark.parametrize("text", BAD_LISTS, ids=range(len(BAD_LISTS)))
def test_a_list_with_bad_lines_is_refused_and_the_previous_one_kept(client, county_admin, text):
    sign_in(client, county_admin)
    assert client.post("/search/dictionary", data={"words": "稻鱼共生\n"}).status_code == 302
    folder = current_folder()
    page = client.post("/search/dictionary", data={"words": text})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "词表" in html
    assert admin_words() == [("稻鱼共生", None)]
    assert current_folder() == folder
    api = client.put(
        "/api/v1/search/words", json={"text": text}, headers=api_token(client, county_admin)
    )
    assert api.status_code == 422
    assert api.get_json()["error"]["message"]
    assert admin_words() == [("稻鱼共生", None)]


def test_bad_lines_are_named(client, county_admin):
    sign_in(client, county_admin)
    html = client.post("/search/dictionary", data={"words": "好词\n坏 词 多\n猪\n"}).get_data(
        as_text=True
    )
    assert "词表有 2 行不对，没有保存，仍使用原来的词表。" in html
    assert "第 2 行" in html
    assert "第 3 行" in html


def test_word_lists_are_uploaded_as_utf8_text(client, county_admin):
    sign_in(client, county_admin)
    gbk = {"words": "", "upload": (io.BytesIO("稻鱼共生\n".encode("gbk")), "words.txt")}
    page = client.post("/search/dictionary", data=gbk, content_type="multipart/form-data")
    assert page.status_code == 422
    assert "UTF-8" in page.get_data(as_text=True)
    assert admin_words() == []
    good = {"words": "", "upload": (io.BytesIO("\ufeff稻鱼共生\n".encode()), "words.txt")}
    page = client.post("/search/dictionary", data=good, content_type="multipart/form-data")
    assert page.status_code == 302
    assert admin_words() == [("稻鱼共生", None)]


def test_only_county_administrators_keep_the_dictionary(client, create_user, county_admin):
    assert client.get("/search/dictionary").status_code == 302  # to sign in
    town_admin = create_user(Role.ADMIN, "福集镇", name="刘镇管")
    resident = create_user(name="王芳")
    for user in (town_admin, resident):
        sign_in(client, user)
        assert client.get("/search/dictionary").status_code == 403
        assert client.post("/search/dictionary", data={"words": "稻鱼共生"}).status_code == 403
        headers = api_token(client, user)
        assert client.get("/api/v1/search/words", headers=headers).status_code == 403
        put = client.put("/api/v1/search/words", json={"text": "稻鱼共生"}, headers=headers)
        assert put.status_code == 403
        client.post("/sign-out")
    assert admin_words() == []
    headers = api_token(client, county_admin)
    put = client.put("/api/v1/search/words", json={"text": "稻鱼共生\n"}, headers=headers)
    assert put.status_code == 200
    assert put.get_json()["items"] == [{"word": "稻鱼共生", "freq": None}]
    listed = client.get("/api/v1/search/words", headers=headers).get_json()
    assert listed["total"] == 1
    assert live_cut(NEW_WORD) == [NEW_WORD]
