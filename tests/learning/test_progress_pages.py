"""Progress a resident can see: x / y and a bar on 我的课程, the course page and the lesson page,
ticks on finished lessons, the next lesson offered at the end of one, and a completed course
saying 已完成 with its credits and the way to the transcript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from lms.core.time import utcnow
from lms.credits.operations.course_hours import certify_course_hours
from lms.extensions import db
from lms.learning import operations
from tests.conftest import sign_in


@pytest.fixture
def course(create_course):
    return create_course("生猪科学养殖技术", lessons=3)


@pytest.fixture
def learner(app, resident, course):
    client = app.test_client()
    sign_in(client, resident)
    operations.enrol(resident, course)
    db.session.commit()
    return client


def learn(resident, lesson) -> None:
    operations.open_lesson(resident, lesson)
    operations.mark_learnt(resident, lesson, now=utcnow() + timedelta(hours=1))
    db.session.commit()


def text(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_x_of_y_and_the_bar_move_with_each_lesson_learnt(learner, resident, course):
    first, second, _third = course.lessons
    mine = text(learner.get("/me/courses"))
    assert "已学完 0 / 3 课" in mine
    assert 'max="3" value="0"' in mine
    assert f'href="/lessons/{first.id}">开始学习：第1课' in mine

    learn(resident, first)
    mine = text(learner.get("/me/courses"))
    assert "已学完 1 / 3 课" in mine
    assert 'max="3" value="1"' in mine
    assert f'href="/lessons/{second.id}">继续学习：第2课' in mine

    page = text(learner.get(f"/courses/{course.id}"))
    assert "已学完 1 / 3 课" in page
    assert page.count("lesson-list__item--done") == 1  # the tick, on the first lesson only
    assert page.count(">已学完</span>") == 1
    assert f'href="/lessons/{second.id}">继续学习</a>' in page
    assert "已报名" in page
    assert "退出课程" in page


def test_the_end_of_a_lesson_offers_the_next_one(learner, resident, course):
    first, second, third = course.lessons
    page = text(learner.get(f"/lessons/{first.id}"))
    assert "第 1 课，共 3 课" in page
    assert "已学完 0 / 3 课" in page
    assert re.search(r'class="next-up" data-next-lesson hidden', page)  # not before it is learnt

    learn(resident, first)
    page = text(learner.get(f"/lessons/{first.id}"))
    assert re.search(r'class="next-up" data-next-lesson>', page)
    assert f'href="/lessons/{second.id}">下一课：第2课' in page

    learn(resident, third)  # out of order: the end of the third offers the second
    page = text(learner.get(f"/lessons/{third.id}"))
    assert f'href="/lessons/{second.id}">下一课：第2课' in page

    learn(resident, second)
    page = text(learner.get(f"/lessons/{second.id}"))
    assert "这门课程的课都学完了。" in page
    assert f'href="/courses/{course.id}">回到课程，查看学分' in page


def test_a_completed_course_says_so_with_its_credits_and_the_transcript(
    learner, resident, course, registrar
):
    for lesson in course.lessons:
        learn(resident, lesson)
    page = text(learner.get(f"/courses/{course.id}"))
    assert "✓ 已完成" in page
    assert "学时认定后获得学分" in page  # 学时待认定: credits follow the certification
    assert 'href="/me/credits#transcripts">查看学分证明' in page
    for gone in ("已报名", "开始学习", "继续学习", "退出课程"):
        assert gone not in page
    assert page.count("lesson-list__item--done") == 3

    certify_course_hours(registrar, course, hours=course.hours, reason="配套线下面授和实践练习")
    db.session.commit()
    assert "获得 1 学分" in text(learner.get(f"/courses/{course.id}"))
    mine = text(learner.get("/me/courses"))
    assert "已学完 3 / 3 课" in mine
    assert "获得 1 学分" in mine
    assert 'href="/me/credits#transcripts">查看学分证明' in mine

    learner.get("/lang/en")
    assert "Earned 1 credit<" in text(learner.get(f"/courses/{course.id}"))  # not "1 credits"


def test_nobody_else_sees_a_residents_ticks(app, create_user, learner, resident, course):
    learn(resident, course.lessons[0])
    other = app.test_client()
    sign_in(other, create_user(name="张三"))
    page = text(other.get(f"/courses/{course.id}"))
    assert "lesson-list__item--done" not in page
    assert "已学完" not in page
