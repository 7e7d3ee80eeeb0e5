"""HTML views of courses: home page, catalogue, course page, the teacher's editor, categories."""

from __future__ import annotations

import re

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from lms.accounts import access as accounts_access
from lms.core import storage
from lms.core.forms import EmptyForm, attempt, render_form, require_form_token
from lms.core.paging import paginate
from lms.core.web import int_arg
from lms.courses import access, bp, operations
from lms.courses.catalogue import ORDERS, active_categories, catalogue_query, course_credits
from lms.courses.content import editable_text
from lms.courses.forms import CategoryForm, CourseForm, TextLessonForm
from lms.courses.models import Category, Course, Lesson
from lms.extensions import db


@bp.app_context_processor
def _course_helpers():
    # The credits a course earns come from the credit bank (see catalogue.course_credits).
    return {"course_credits": course_credits}


def _page_number() -> int:
    return min(int_arg("page", 1), 10_000)


@bp.get("/")
def index():
    newest = db.session.scalars(catalogue_query().limit(8)).all()
    popular = db.session.scalars(catalogue_query(order="popular").limit(4)).all()
    categories = db.session.scalars(active_categories()).all()
    return render_template(
        "courses/index.html", newest=newest, popular=popular, categories=categories
    )


@bp.get("/courses")
def catalogue():
    q = request.args.get("q", "").strip()[:100]
    category_id = int_arg("category")
    order = request.args.get("order", "newest")
    order = order if order in ORDERS else "newest"
    paged = paginate(
        catalogue_query(q=q, category_id=category_id, order=order),
        page=_page_number(),
        per_page=current_app.config["LMS_PAGE_SIZE"],
    )
    categories = db.session.scalars(active_categories()).all()
    return render_template(
        "courses/catalogue.html",
        courses=paged.items,
        categories=categories,
        q=q,
        category_id=category_id,
        order=order,
        page=paged.page,
        total=paged.total,
        pages=paged.pages,
    )


@bp.get("/courses/<int:course_id>")
def course(course_id: int):
    course = access.get_course_or_404(course_id, current_user)
    return render_template(
        "courses/course.html",
        course=course,
        can_edit=access.can_edit_course(current_user, course),
        empty=EmptyForm(),
    )


@bp.get("/covers/<name>")
def cover(name: str):
    """A cover or one of its smaller copies. Names are random and never reused: cached for a
    year. A cover saved before the copies existed is sent full size under a copy's name."""
    folder = storage.media_path("covers")
    copy = re.fullmatch(r"([0-9a-f]{24})-\d+\.jpg", name)
    if copy and not (folder / name).is_file():
        name = f"{copy.group(1)}.jpg"
    response = send_from_directory(folder, name, max_age=365 * 24 * 3600)
    response.cache_control.immutable = True
    return response


@bp.get("/pictures/<name>")
def picture(name: str):
    """A picture of a lesson's text (courses.api.upload_picture); its name is random and never
    reused, so it may be cached for a year."""
    return send_from_directory(storage.media_path("pictures"), name, max_age=365 * 86400)


# Teaching -----------------------------------------------------------------------------------


# the form's field is category_id; the operations call it category
CATEGORY_FIELD = {"category": "category_id"}


def _category_choices() -> list[SelectChoice]:
    return [SelectChoice(c.id, c.name) for c in db.session.scalars(active_categories())]


def _course_fields(form: CourseForm) -> dict:
    """What the course form says, as the keyword arguments of create_course/update_course."""
    return {
        "title": form.title.data,
        "summary": form.summary.data,
        "category": db.session.get(Category, form.category_id.data),
        "hours": form.hours.data,
        "is_open": form.is_open.data,
        "cover": form.cover.data or None,
    }


@bp.get("/teach")
@login_required
def teaching():
    if not (access.can_create_course(current_user) or accounts_access.is_admin(current_user)):
        abort(403)
    courses = db.session.scalars(
        select(Course)
        .where(access.editable_courses_condition(current_user))
        .order_by(Course.created_at.desc())
    ).all()
    return render_template(
        "courses/teaching.html", courses=courses, can_create=access.can_create_course(current_user)
    )


@bp.route("/courses/new", methods=["GET", "POST"])
@login_required
def new_course():
    access.ensure_can_create_course(current_user)
    form = CourseForm()
    form.category_id.choices = _category_choices()
    if form.validate_on_submit():
        with attempt(form, done=_("课程已创建，请添加课时"), rename=CATEGORY_FIELD) as result:
            course = operations.create_course(current_user, **_course_fields(form))
        if result.ok:
            return redirect(url_for("courses.edit_course", course_id=course.id))
    return render_form("courses/course_form.html", form, course=None)


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@login_required
def edit_course(course_id: int):
    course = access.get_course_or_404(course_id, current_user, for_edit=True)
    form = CourseForm(obj=course, category_id=course.category_id)
    if not form.is_submitted():
        form.summary.data = editable_text(course.summary)
    form.category_id.choices = _category_choices()
    if form.validate_on_submit():
        with attempt(form, done=_("课程已保存"), rename=CATEGORY_FIELD) as result:
            operations.update_course(course, **_course_fields(form))
        if result.ok:
            return redirect(url_for("courses.edit_course", course_id=course.id))
    return render_form(
        "courses/course_form.html",
        form,
        course=course,
        empty=EmptyForm(),
        can_unpublish=access.can_unpublish_course(current_user, course),
    )


@bp.post("/courses/<int:course_id>/<any(publish, unpublish, archive):action>")
@login_required
def change_status(course_id: int, action: str):
    course = access.get_course_or_404(course_id, current_user, for_edit=True)
    require_form_token()
    if action == "unpublish" and not access.can_unpublish_course(current_user, course):
        abort(403)
    change, done = {
        "publish": (operations.publish_course, _("课程已发布")),
        "unpublish": (operations.unpublish_course, _("课程已撤回为草稿")),
        "archive": (operations.archive_course, _("课程已归档")),
    }[action]
    with attempt(done=done):
        change(course)
    return redirect(url_for("courses.edit_course", course_id=course.id))


def _lesson_fields(form: TextLessonForm) -> dict:
    return {"title": form.title.data, "body": form.body.data, "required": form.required.data}


@bp.route("/courses/<int:course_id>/lessons/new", methods=["GET", "POST"])
@login_required
def new_lesson(course_id: int):
    course = access.get_course_or_404(course_id, current_user, for_edit=True)
    form = TextLessonForm()
    if form.validate_on_submit():
        with attempt(form, done=_("课时已添加")) as result:
            operations.add_text_lesson(course, **_lesson_fields(form))
        if result.ok:
            return redirect(url_for("courses.edit_course", course_id=course.id))
    return render_form("courses/lesson_form.html", form, course=course, lesson=None)


@bp.route("/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(lesson_id: int):
    lesson = access.get_lesson_or_404(lesson_id, current_user, for_edit=True)
    form = TextLessonForm(obj=lesson)
    if not form.is_submitted():
        form.body.data = editable_text(lesson.body)
    if form.validate_on_submit():
        with attempt(form, done=_("课时已保存")) as result:
            operations.update_text_lesson(lesson, **_lesson_fields(form))
        if result.ok:
            return redirect(url_for("courses.edit_course", course_id=lesson.course_id))
    return render_form("courses/lesson_form.html", form, course=lesson.course, lesson=lesson)


@bp.post("/lessons/<int:lesson_id>/<any(up, down, delete):action>")
@login_required
def change_lesson(lesson_id: int, action: str):
    lesson: Lesson = access.get_lesson_or_404(lesson_id, current_user, for_edit=True)
    require_form_token()
    course_id = lesson.course_id
    with attempt():
        if action == "delete":
            operations.delete_lesson(lesson)
        else:
            operations.move_lesson(lesson, -1 if action == "up" else 1)
    return redirect(url_for("courses.edit_course", course_id=course_id))


# Categories ---------------------------------------------------------------------------------


@bp.route("/admin/categories", methods=["GET", "POST"])
@login_required
def categories():
    access.ensure_can_manage_categories(current_user)
    form = CategoryForm()
    if form.validate_on_submit():
        with attempt(form, done=_("分类已添加")) as result:
            operations.create_category(form.name.data)
        if result.ok:
            return redirect(url_for("courses.categories"))
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    return render_form("courses/categories.html", form, categories=categories)


@bp.route("/admin/categories/<int:category_id>", methods=["GET", "POST"])
@login_required
def category(category_id: int):
    category = access.get_category_or_404(category_id, current_user)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        with attempt(form, done=_("分类已保存")) as result:
            operations.update_category(category, name=form.name.data, active=form.active.data)
        if result.ok:
            return redirect(url_for("courses.categories"))
    return render_form("courses/category_form.html", form, category=category)
