"""HTML views of accounts: sign-up, sign-in, the account page, and the administrators' pages
for people, roles and the org tree."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from lms.accounts import access, bp, operations
from lms.accounts.forms import (
    ChangePasswordForm,
    GrantRoleForm,
    OrgUnitForm,
    SignInForm,
    SignUpForm,
)
from lms.accounts.models import Level, Notice, OrgUnit, Role, User
from lms.core.forms import EmptyForm, attempt, render_form, require_form_token, show_errors
from lms.core.paging import paginate
from lms.core.web import int_arg
from lms.extensions import db


def village_choices() -> list[SelectChoice]:
    """Villages grouped by town, for the sign-up select."""
    villages = db.session.scalars(
        select(OrgUnit).filter_by(level=Level.VILLAGE).order_by(OrgUnit.code)
    )
    return [SelectChoice(v.id, v.name, optgroup=v.parent.name) for v in villages]


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("courses.index")


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("courses.index"))
    form = SignUpForm()
    form.org_unit_id.choices = village_choices()
    result = None
    if form.validate_on_submit():
        with attempt(form) as result:
            registration = operations.register_resident(
                phone=form.phone.data,
                password=form.password.data,
                name=form.name.data,
                org_unit=db.session.get(OrgUnit, form.org_unit_id.data),
                birth_year=form.birth_year.data,
                address=request.remote_addr or "",
            )
        if result.ok and registration.refusal is not None:  # committed: the attempt counts
            show_errors(form, registration.refusal)
        elif result.ok:
            user = registration.user
            login_user(user, remember=True)
            flash(_("注册成功，欢迎您，%(name)s！", name=user.name), "success")
            return redirect(_safe_next(request.args.get("next")))
    limited = result is not None and isinstance(result.error, operations.RateLimited)
    return render_form("accounts/sign_up.html", form, status=429 if limited else None)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    status = None
    if form.validate_on_submit():
        try:
            user = operations.authenticate(
                form.phone.data, form.password.data, address=request.remote_addr or ""
            )
        except operations.RateLimited as error:
            form.form_errors.append(error.message)
            status = 429
        else:
            db.session.commit()
            if user is None:
                form.form_errors.append(_("手机号或密码不正确"))
            else:
                login_user(user, remember=form.remember.data)
                flash(_("欢迎回来，%(name)s！", name=user.name), "success")
                return redirect(_safe_next(request.args.get("next")))
    return render_form("accounts/sign_in.html", form, status=status)


@bp.post("/sign-out")
def sign_out():
    require_form_token()
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("courses.index"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in current_app.config["LMS_LOCALES"]:
        abort(404)
    session["locale"] = code
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with attempt(form, done=_("密码已修改，其他设备上的登录已退出")) as result:
            operations.change_password(current_user, current=form.current.data, new=form.new.data)
        if result.ok:
            login_user(current_user._get_current_object(), remember=True)  # this one stays in
            return redirect(url_for("accounts.account"))
    return render_form("accounts/account.html", form)


# Administration -----------------------------------------------------------------------------


PEOPLE_PER_PAGE = 30


def _require_admin() -> list[OrgUnit]:
    scopes = access.grant_units(current_user, Role.ADMIN)
    if not scopes:
        abort(403)
    return scopes


@bp.get("/admin/people")
@login_required
def people():
    scopes = _require_admin()
    q = request.args.get("q", "").strip()[:40]
    page = min(int_arg("page", 1), 10_000)
    query = (
        select(User)
        .join(User.org_unit)
        .where(access.within(scopes, OrgUnit.path))
        .order_by(User.id.desc())
    )
    if q:
        query = query.where(
            or_(User.name.contains(q, autoescape=True), User.phone.contains(q, autoescape=True))
        )
    found = paginate(query, page=page, per_page=PEOPLE_PER_PAGE)
    return render_template(
        "admin/people.html",
        users=found.items,
        q=q,
        page=found.page,
        total=found.total,
        pages=found.pages,
    )


@bp.route("/admin/people/<int:user_id>", methods=["GET", "POST"])
@login_required
def person(user_id: int):
    _require_admin()
    user = access.get_managed_user_or_404(current_user, user_id)
    form = GrantRoleForm()
    form.org_unit_id.choices = [
        SelectChoice(unit.id, unit.full_name) for unit in access.managed_units(current_user)
    ]
    if form.validate_on_submit():
        role, unit = Role(form.role.data), db.session.get(OrgUnit, form.org_unit_id.data)
        if not access.can_grant(current_user, role, unit):
            abort(403, _("您只能在自己管理的范围内授权"))
        done = _("已授予 %(name)s %(role)s 角色", name=user.name, role=role.label)
        with attempt(form, done=done) as result:
            operations.grant_role(current_user, user, role, unit)
        if result.ok:
            return redirect(url_for("accounts.person", user_id=user.id))
    return render_form(
        "admin/person.html", form, user=user, can_withdraw=access.can_withdraw, empty=EmptyForm()
    )


@bp.post("/admin/grants/<int:grant_id>/withdraw")
@login_required
def withdraw_grant(grant_id: int):
    _require_admin()
    require_form_token()
    grant = access.get_grant_or_404(current_user, grant_id)
    if not access.can_withdraw(current_user, grant):
        abort(403, _("不能撤销这项授权"))
    user_id = grant.user_id
    operations.withdraw_grant(current_user, grant)
    db.session.commit()
    flash(_("已撤销授权"), "success")
    return redirect(url_for("accounts.person", user_id=user_id))


@bp.get("/admin/units")
@login_required
def units():
    _require_admin()
    units = access.managed_units(current_user)
    return render_template("admin/units.html", units=units)


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit(unit_id: int):
    _require_admin()
    unit = access.get_unit_or_404(unit_id, for_manage=True, user=current_user)
    form = OrgUnitForm(obj=unit)
    child_form = OrgUnitForm(prefix="child")
    if request.method == "POST" and request.form.get("action") == "child":
        if unit.level.child is None:
            abort(400)
        if child_form.validate_on_submit():
            with attempt(child_form, done=_("已添加下级单位")) as result:
                operations.create_org_unit(
                    name=child_form.name.data,
                    code=operations.next_child_code(unit),
                    level=unit.level.child,
                    parent=unit,
                    population=child_form.population.data,
                )
            if result.ok:
                return redirect(url_for("accounts.unit", unit_id=unit.id))
        form = OrgUnitForm(obj=unit, formdata=None)
    elif form.validate_on_submit():
        with attempt(form, done=_("已保存")) as result:
            operations.update_org_unit(unit, name=form.name.data, population=form.population.data)
        if result.ok:
            return redirect(url_for("accounts.unit", unit_id=unit.id))
    failed = bool(form.errors or form.form_errors or child_form.errors or child_form.form_errors)
    return render_template("admin/unit.html", unit=unit, form=form, child_form=child_form), (
        422 if request.method == "POST" and failed else 200
    )


# Notices -------------------------------------------------------------------------------------


@bp.app_context_processor
def _notice_helpers():
    def unread_notices() -> int:
        if not current_user.is_authenticated:
            return 0
        return db.session.scalar(
            select(func.count(Notice.id)).where(
                Notice.user_id == current_user.id, Notice.read_at.is_(None)
            )
        )

    return {"unread_notices": unread_notices}


@bp.get("/notices")
@login_required
def notices():
    items = db.session.scalars(
        select(Notice).filter_by(user_id=current_user.id).order_by(Notice.id.desc()).limit(100)
    ).all()
    return render_template("accounts/notices.html", notices=items, empty=EmptyForm())


@bp.post("/notices/read")
@login_required
def read_notices():
    require_form_token()
    operations.mark_notices_read(current_user)
    db.session.commit()
    return redirect(url_for("accounts.notices"))
