"""A fixed catalogue, built through operations, that the search tests query."""

from __future__ import annotations

import pytest

from lms.accounts.models import Role
from lms.courses import operations as courses
from lms.extensions import db
from lms.search.index import close_searchers


@pytest.fixture(autouse=True)
def _close_searchers(app):
    yield
    close_searchers()


# title, category, teacher key, summary, [(lesson title, body)]
CATALOGUE = [
    (
        "生猪科学养殖技术",
        "农村实用技术",
        "li",
        "<p>从猪舍建设到<b>科学养殖</b>，帮助养殖户增收。</p>",
        [
            ("猪舍消毒与防疫", "<p>生猪常见疫病的预防，疫苗接种时间表。</p>"),
            ("饲料配比", "<p>玉米、豆粕和麦麸的配比方法。</p>"),
        ],
    ),
    (
        "柑橘病虫害防治",
        "农村实用技术",
        "zhou",
        "<p>柑橘常见病虫害的识别与绿色防控。</p>",
        [
            ("红蜘蛛的识别", "<p>柑橘红蜘蛛在春季高发，可用矿物油防治。</p>"),
            ("溃疡病", "<p>溃疡病是细菌性病害，要及时剪除病枝。</p>"),
        ],
    ),
    (
        "老年人高血压的饮食调理",
        "健康养生",
        "li",
        "<p>吃得对，血压稳。</p>",
        [
            ("低盐饮食", "<p>每天食盐不超过5克，多吃新鲜蔬菜。</p>"),
            ("太极拳入门", "<p>太极拳动作缓慢，适合中老年人锻炼身体。</p>"),
        ],
    ),
    (
        "智能手机使用入门",
        "农村实用技术",
        "li",
        "<p>手把手教您用好智能手机。</p>",
        [
            ("微信视频通话", "<p>教您用微信和子女视频聊天，发送语音消息。</p>"),
            ("防范电信诈骗", "<p>陌生来电要求转账，一定是诈骗。</p>"),
        ],
    ),
    (
        "民法典与农村土地承包",
        "法制教育",
        "zhou",
        "<p>讲解民法典中与农民切身利益相关的条款。</p>",
        [
            ("土地承包经营权", "<p>承包期内发包方不得收回承包地。</p>"),
            ("宅基地", "<p>宅基地使用权依法受到保护。</p>"),
        ],
    ),
    (
        "Python3编程入门",
        "农村实用技术",
        "li",
        "<p>零基础学编程。</p>",
        [("第一个程序", "<p>用 print 输出 Hello World。</p>")],
    ),
    (
        "中药材种植与加工",
        "农村实用技术",
        "zhao",
        "<p>泸县特色中药材的种植、采收与初加工。</p>",
        [("川芎种植", "<p>川芎是泸县的特色中药材，喜温和湿润。</p>")],
    ),
    (
        "家庭急救知识",
        "健康养生",
        "li",
        "<p>关键时刻能救命。</p>",
        [("心肺复苏", "<p>胸外按压每分钟100到120次，深度5到6厘米。</p>")],
    ),
]


@pytest.fixture
def teachers(teacher, create_user):
    return {
        "li": teacher,  # 李老师, 福集镇
        "zhou": create_user(Role.TEACHER, "嘉明镇", name="周老师"),
        "zhao": create_user(Role.TEACHER, "嘉明镇一村", name="赵老师"),
    }


def build_course(teachers, categories, title, category, who, summary, lessons, *, publish=True):
    course = courses.create_course(
        teachers[who],
        title=title,
        summary=summary,
        category=categories[category],
        hours=8,
        provider=None,
    )
    for lesson_title, body in lessons:
        courses.add_text_lesson(course, title=lesson_title, body=body)
    if publish:
        courses.publish_course(course)
    db.session.commit()
    return course


@pytest.fixture
def catalogue(teachers, categories):
    """The published catalogue, a draft and an archived course (neither may ever be found)."""
    made = {row[0]: build_course(teachers, categories, *row) for row in CATALOGUE}
    build_course(
        teachers,
        categories,
        "水产养殖新技术",
        "农村实用技术",
        "li",
        "<p>池塘养殖。</p>",
        [("水质", "<p>水产养殖的水质管理。</p>")],
        publish=False,
    )
    archived = build_course(
        teachers,
        categories,
        "蔬菜大棚种植",
        "农村实用技术",
        "zhou",
        "<p>大棚蔬菜。</p>",
        [("大棚建设", "<p>大棚的骨架与薄膜。</p>")],
    )
    courses.archive_course(archived)
    db.session.commit()
    return made
