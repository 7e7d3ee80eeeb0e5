"""Pages of the registry: the 讲师团 and the 志愿者队伍 of the units a staff member keeps (with the
后备人才库 filter), deciding applications, a resident's own application (我要当志愿者), and an
activity's 讲师与志愿者 page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from lms.accounts.models import OrgUnit, mask_phone
from lms.activities.access import get_activity_or_404
from lms.activities.models import Activity, ActivityStatus
from lms.activities.registry import access, bp, operations
from lms.activities.registry.forms import (
    ApplicationForm,
    AssignLecturerForm,
    AssignVolunteerForm,
    DecisionForm,
    LecturerForm,
    VolunteerEditForm,
    VolunteerForm,
)
from lms.activities.registry.models import (
    ActivityLecturer,
    ActivityVolunteer,
    Lecturer,
    Volunteer,
    VolunteerStatus,
)
from lms.core.forms import EmptyForm, attempt, render_form, require_form_token
from lms.core.models import MAX_ID
from lms.core.paging import paginate
from lms.core.web import int_arg
from lms.extensions import db

PER_PAGE = 30


@bp.context_processor
def _helpers() -> dict:
    return {"shown_contact": access.shown_contact}  # law 8, on every registry page


@bp.app_template_global()
def activity_lecturers(activity: Activity) -> list[ActivityLecturer]:
    """Who teaches at *activity* (its public page names them: name, qualification, topic; no
    contact)."""
    return list(
        db.session.scalars(
            select(ActivityLecturer)
            .filter_by(activity_id=activity.id)
            .order_by(ActivityLecturer.id)
        )
    )


def _unit_choices() -> list[tuple[int, str]]:
    return [(unit.id, unit.full_name) for unit in access.kept_units(current_user)]


def _filters(query, model, *, text_columns):
    """``q`` (name or the text columns), ``unit`` (a unit in scope, with its subtree), ``pool``
    (后备人才库 only): the list's filters, and the filters as understood."""
    shown: dict[str, object] = {}
    q = " ".join((request.args.get("q") or "").split())[:40]
    if q:
        query = query.where(
            or_(*(column.contains(q, autoescape=True) for column in (model.name, *text_columns)))
        )
        shown["q"] = q
    unit_id = int_arg("unit")
    if unit_id is not None:
        unit = db.session.get(OrgUnit, unit_id) if 0 < unit_id <= MAX_ID else None
        if unit is not None and access.can_keep(current_user, unit):
            query = query.where(OrgUnit.path.startswith(unit.path, autoescape=True))
            shown["unit"] = unit.id
    if request.args.get("pool") == "1":
        query = query.where(model.talent_pool.is_(True))
        shown["pool"] = "1"
    return query, shown


def _hours_by(column, ids: list[int]) -> dict[int, tuple[int, object]]:
    """Per lecturer (or volunteer): activities served at and hours recorded."""
    if not ids:
        return {}
    model = column.class_
    rows = db.session.execute(
        select(column, func.count(), func.coalesce(func.sum(model.served_hours), 0))
        .where(column.in_(ids), model.recorded_at.is_not(None))
        .group_by(column)
    )
    return {row[0]: (row[1], row[2]) for row in rows}


# Lecturers -------------------------------------------------------------------------------------


@bp.get("/activities/lecturers")
@login_required
def lecturers():
    access.require_staff(current_user)
    query, shown = _filters(
        access.lecturers_query(current_user),
        Lecturer,
        text_columns=(Lecturer.subjects, Lecturer.qualification),
    )
    if request.args.get("all") != "1":
        query = query.where(Lecturer.active.is_(True))
    else:
        shown["all"] = "1"
    page = paginate(
        query.order_by(Lecturer.talent_pool.desc(), Lecturer.name, Lecturer.id),
        page=int_arg("page", 1) or 1,
        per_page=PER_PAGE,
    )
    return render_template(
        "activities/registry/lecturers.html",
        page=page,
        filters=shown,
        units=access.kept_units(current_user),
        service=_hours_by(ActivityLecturer.lecturer_id, [item.id for item in page.items]),
    )


@bp.route("/activities/lecturers/new", methods=["GET", "POST"])
@login_required
def new_lecturer():
    access.require_staff(current_user)
    form = LecturerForm()
    form.unit.choices = _unit_choices()
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("已加入讲师团")) as result:
            operations.add_lecturer(
                current_user,
                unit=access.get_unit_in_scope_or_404(current_user, form.unit.data),
                name=form.name.data,
                phone=form.phone.data,
                subjects=form.subjects.data,
                qualification=form.qualification.data,
                bio=form.bio.data,
                talent_pool=form.talent_pool.data,
            )
        if result.ok:
            return redirect(url_for("registry.lecturers"))
        status = result.error.status
    return render_form("activities/registry/lecturer_form.html", form, status=status, lecturer=None)


@bp.route("/activities/lecturers/<int:lecturer_id>", methods=["GET", "POST"])
@login_required
def lecturer(lecturer_id: int):
    item = access.get_lecturer_or_404(current_user, lecturer_id)
    # Law 8: who may not see the number gets it masked in the form too; sent back as shown,
    # it means "keep it".
    masked = mask_phone(item.phone) if item.phone else None
    form = LecturerForm(obj=item, unit=item.org_unit_id)
    form.unit.choices = _unit_choices()
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("讲师信息已保存")) as result:
            operations.update_lecturer(
                current_user,
                item,
                unit=access.get_unit_in_scope_or_404(current_user, form.unit.data),
                name=form.name.data,
                phone=item.phone if form.phone.data == masked else form.phone.data,
                subjects=form.subjects.data,
                qualification=form.qualification.data,
                bio=form.bio.data,
                talent_pool=form.talent_pool.data,
                active=form.active.data,
            )
        if result.ok:
            return redirect(url_for("registry.lecturer", lecturer_id=item.id))
        status = result.error.status
    elif not form.is_submitted():
        form.phone.data = item.phone if access.can_see_contact(current_user, item) else masked
    teaching = db.session.scalars(
        select(ActivityLecturer)
        .filter_by(lecturer_id=item.id)
        .join(ActivityLecturer.activity)
        .order_by(Activity.starts_at.desc())
        .limit(50)
    ).all()
    return render_form(
        "activities/registry/lecturer_form.html",
        form,
        status=status,
        lecturer=item,
        teaching=teaching,
        contact=access.shown_contact(current_user, item),
    )


# Volunteers ------------------------------------------------------------------------------------


@bp.get("/activities/volunteers")
@login_required
def volunteers():
    access.require_staff(current_user)
    status = request.args.get("status", VolunteerStatus.APPROVED.value)
    if status not in VolunteerStatus._value2member_map_:
        status = VolunteerStatus.APPROVED.value
    query, shown = _filters(
        access.volunteers_query(current_user),
        Volunteer,
        text_columns=(Volunteer.skills, Volunteer.availability),
    )
    counts = dict(
        db.session.execute(
            access.volunteers_query(current_user)
            .with_only_columns(Volunteer.status, func.count())
            .group_by(Volunteer.status)
        ).all()
    )
    page = paginate(
        query.where(Volunteer.status == VolunteerStatus(status)).order_by(
            Volunteer.talent_pool.desc(), Volunteer.created_at, Volunteer.id
        ),
        page=int_arg("page", 1) or 1,
        per_page=PER_PAGE,
    )
    return render_template(
        "activities/registry/volunteers.html",
        page=page,
        status=VolunteerStatus(status),
        statuses=list(VolunteerStatus),
        counts={VolunteerStatus(key): value for key, value in counts.items()},
        filters=shown,
        units=access.kept_units(current_user),
        service=_hours_by(ActivityVolunteer.volunteer_id, [item.id for item in page.items]),
    )


@bp.route("/activities/volunteers/new", methods=["GET", "POST"])
@login_required
def new_volunteer():
    access.require_staff(current_user)
    form = VolunteerForm()
    form.unit.choices = _unit_choices()
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("已加入志愿者队伍")) as result:
            operations.add_volunteer(
                current_user,
                unit=access.get_unit_in_scope_or_404(current_user, form.unit.data),
                name=form.name.data,
                phone=form.phone.data,
                skills=form.skills.data,
                availability=form.availability.data,
                talent_pool=form.talent_pool.data,
            )
        if result.ok:
            return redirect(url_for("registry.volunteers"))
        status = result.error.status
    return render_form("activities/registry/volunteer_new.html", form, status=status)


@bp.route("/activities/volunteers/<int:volunteer_id>", methods=["GET", "POST"])
@login_required
def volunteer(volunteer_id: int):
    item = access.get_volunteer_or_404(current_user, volunteer_id)
    form = VolunteerEditForm(obj=item)
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("志愿者信息已保存")) as result:
            operations.update_volunteer(
                current_user,
                item,
                skills=form.skills.data,
                availability=form.availability.data,
                talent_pool=form.talent_pool.data,
            )
        if result.ok:
            return redirect(url_for("registry.volunteer", volunteer_id=item.id))
        status = result.error.status
    serving = db.session.scalars(
        select(ActivityVolunteer)
        .filter_by(volunteer_id=item.id)
        .join(ActivityVolunteer.activity)
        .order_by(Activity.starts_at.desc())
        .limit(50)
    ).all()
    return render_form(
        "activities/registry/volunteer.html",
        form,
        status=status,
        volunteer=item,
        serving=serving,
        contact=access.shown_contact(current_user, item),
        decision=DecisionForm(),
        can_decide=item.status is VolunteerStatus.PENDING and item.user_id != current_user.id,
    )


@bp.post("/activities/volunteers/<int:volunteer_id>/decision")
@login_required
def decide(volunteer_id: int):
    item = access.get_volunteer_or_404(current_user, volunteer_id)
    form = DecisionForm()
    approve = request.form.get("decision") == "approve"
    if not form.validate_on_submit() or request.form.get("decision") not in ("approve", "refuse"):
        abort(400)
    done = _("已通过，居民会收到通知") if approve else _("已退回，居民会收到通知")
    with attempt(done=done) as result:
        operations.decide_volunteer(current_user, item, approve=approve, reason=form.reason.data)
    if result.ok:
        return redirect(url_for("registry.volunteers", status=VolunteerStatus.PENDING.value))
    return redirect(url_for("registry.volunteer", volunteer_id=item.id))


# A resident's own application -----------------------------------------------------------------


@bp.route("/me/volunteer", methods=["GET", "POST"])
@login_required
def my_volunteering():
    mine = access.own_volunteer(current_user)
    form = ApplicationForm(obj=mine if mine is not None else None)
    status = None
    if form.validate_on_submit():
        with attempt(form, done=_("申请已提交，管理员审核后会通知您")) as result:
            operations.apply_to_volunteer(
                current_user,
                skills=form.skills.data,
                availability=form.availability.data,
                note=form.note.data,
            )
        if result.ok:
            return redirect(url_for("registry.my_volunteering"))
        status = result.error.status
    serving = []
    if mine is not None:
        serving = db.session.scalars(
            select(ActivityVolunteer)
            .filter_by(volunteer_id=mine.id)
            .join(ActivityVolunteer.activity)
            .order_by(Activity.starts_at.desc())
            .limit(50)
        ).all()
    return render_form(
        "activities/registry/my_volunteering.html",
        form,
        status=status,
        volunteer=mine,
        serving=serving,
        empty=EmptyForm(),
    )


@bp.post("/me/volunteer/withdraw")
@login_required
def withdraw_volunteering():
    require_form_token()
    with attempt(done=_("您已退出志愿者队伍，欢迎随时再次申请")):
        operations.withdraw_volunteering(current_user)
    return redirect(url_for("registry.my_volunteering"))


# An activity's lecturers and volunteers -------------------------------------------------------


def _activity_or_404(activity_id: int) -> Activity:
    """The activity, for its organisers (the activities' own loader); else 404."""
    return get_activity_or_404(activity_id, user=current_user, to_organise=True)


def _choices(query, label) -> list[tuple[int, str]]:
    return [(item.id, label(item)) for item in db.session.scalars(query.limit(500))]


@bp.get("/activities/<int:activity_id>/staff")
@login_required
def staffing(activity_id: int):
    activity = _activity_or_404(activity_id)
    lecturer_form = AssignLecturerForm(prefix="lecturer")
    lecturer_form.lecturer_id.choices = _choices(
        access.lecturers_query(current_user)
        .where(Lecturer.active.is_(True))
        .order_by(Lecturer.talent_pool.desc(), Lecturer.name),
        lambda item: f"{item.name}（{item.subjects}）",
    )
    volunteer_form = AssignVolunteerForm(prefix="volunteer")
    volunteer_form.volunteer_id.choices = _choices(
        access.volunteers_query(current_user)
        .where(Volunteer.status == VolunteerStatus.APPROVED)
        .order_by(Volunteer.name),
        lambda item: f"{item.name}（{item.skills}）",
    )
    return render_template(
        "activities/registry/staffing.html",
        activity=activity,
        open=activity.status is ActivityStatus.OPEN,
        lecturers=db.session.scalars(
            select(ActivityLecturer)
            .filter_by(activity_id=activity.id)
            .order_by(ActivityLecturer.id)
        ).all(),
        volunteers=db.session.scalars(
            select(ActivityVolunteer)
            .filter_by(activity_id=activity.id)
            .order_by(ActivityVolunteer.id)
        ).all(),
        lecturer_form=lecturer_form,
        volunteer_form=volunteer_form,
        empty=EmptyForm(),
    )


def form_messages(form) -> str:
    return " ".join(message for errors in form.errors.values() for message in errors)


def _refused(activity: Activity, message: str | None, *, status: int = 422):
    """The activity's page again with what was refused (flashed) and a 4xx."""
    if message:
        flash(message, "error")
    return staffing(activity.id), status


@bp.post("/activities/<int:activity_id>/staff/lecturers")
@login_required
def assign_lecturer(activity_id: int):
    activity = _activity_or_404(activity_id)
    form = AssignLecturerForm(prefix="lecturer")
    if not form.validate_on_submit():
        return _refused(activity, form_messages(form))
    chosen = db.session.get(Lecturer, form.lecturer_id.data) if form.lecturer_id.data else None
    if chosen is None:
        abort(404)
    with attempt(done=_("已安排讲师")) as result:
        operations.assign_lecturer(
            current_user, activity, chosen, topic=form.topic.data, hours=form.hours.data
        )
    if not result.ok:
        return _refused(activity, None, status=result.error.status)
    return redirect(url_for("registry.staffing", activity_id=activity.id))


@bp.post("/activities/<int:activity_id>/staff/volunteers")
@login_required
def assign_volunteer(activity_id: int):
    activity = _activity_or_404(activity_id)
    form = AssignVolunteerForm(prefix="volunteer")
    if not form.validate_on_submit():
        return _refused(activity, form_messages(form))
    chosen = db.session.get(Volunteer, form.volunteer_id.data) if form.volunteer_id.data else None
    if chosen is None:
        abort(404)
    with attempt(done=_("已安排志愿者")) as result:
        operations.assign_volunteer(
            current_user, activity, chosen, duty=form.duty.data, hours=form.hours.data
        )
    if not result.ok:
        return _refused(activity, None, status=result.error.status)
    return redirect(url_for("registry.staffing", activity_id=activity.id))


@bp.post("/activities/<int:activity_id>/staff/<kind>/<int:assignment_id>/remove")
@login_required
def remove_assignment(activity_id: int, kind: str, assignment_id: int):
    activity = _activity_or_404(activity_id)
    require_form_token()
    model = {"lecturers": ActivityLecturer, "volunteers": ActivityVolunteer}.get(kind)
    assignment = db.session.get(model, assignment_id) if model and assignment_id <= MAX_ID else None
    if assignment is None or assignment.activity_id != activity.id:
        abort(404)
    with attempt(done=_("已移出本活动")):
        operations.remove_assignment(activity, assignment)
    return redirect(url_for("registry.staffing", activity_id=activity.id))
