"""HTML views of accounts: sign-up, sign-in, the account page, and the administrators' pages
for people, roles and the org tree."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from lms.accounts import access, bp, operations, staff
from lms.accounts.forms import (
    ChangePasswordForm,
    GrantRoleForm,
    OrgUnitForm,
    PersonForm,
    RegisterPersonForm,
    SignInForm,
    SignUpForm,
)
from lms.accounts.models import Level, Notice, OrgUnit, Role, User
from lms.core.errors import OperationError
from lms.core.forms import EmptyForm, attempt, render_form, require_form_token, show_errors
from lms.core.paging import paginate
from lms.core.web import int_arg, is_api_request
from lms.extensions import db

# Where a person who must replace a one-time password may still go.
_WHILE_PASSWORD_MUST_CHANGE = {
    "accounts.account",
    "accounts.sign_out",
    "accounts.set_language",
    "accounts.set_elderly",
    "accounts_api.change_my_password",
    "accounts_api.delete_token",
    "accounts_api.me",
    "static",
}


@bp.before_app_request
def _one_time_password_must_change():
    """After signing in with a one-time password, nothing but choosing a new one."""
    if request.endpoint in _WHILE_PASSWORD_MUST_CHANGE or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    message = _("您正在使用工作人员发放的一次性密码，请先设置自己的新密码")
    if is_api_request():
        from lms.core.api import error_response

        return error_response(403, "password_change_required", message)
    flash(message, "info")
    return redirect(url_for("accounts.account"))


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


@bp.get("/admin/people")
@login_required
def people():
    access.require_admin(current_user)
    query, shown = access.people_query(current_user, request.args)
    page = min(int_arg("page", 1), 10_000)
    found = paginate(query, page=page, per_page=PEOPLE_PER_PAGE)
    return render_template(
        "admin/people.html",
        users=found.items,
        q=shown.get("q", ""),
        filters=shown,
        units=access.managed_units(current_user),
        roles=list(Role),
        age_bands=access.AGE_BANDS,
        page=found.page,
        total=found.total,
        pages=found.pages,
        shown_phone=access.shown_phone,
    )


def _village_choices(actor: User) -> list[SelectChoice]:
    return [
        SelectChoice(unit.id, unit.name, optgroup=unit.parent.name if unit.parent else "")
        for unit in access.managed_units(actor)
        if unit.level is Level.VILLAGE
    ]


def _slip(slip: staff.Slip, *, title: str):
    """The sign-in slip with the one-time password: shown once, never cached."""
    response = make_response(render_template("admin/slip.html", slips=[slip], title=title))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/people/new", methods=["GET", "POST"])
@login_required
def register_person():
    """代注册: staff register a resident who has no smartphone."""
    access.require_admin(current_user)
    form = RegisterPersonForm()
    form.org_unit_id.choices = _village_choices(current_user)
    status = None
    if form.validate_on_submit():
        with attempt(form) as result:
            slip = staff.register_on_behalf(
                current_user,
                phone=form.phone.data,
                name=form.name.data,
                org_unit=db.session.get(OrgUnit, form.org_unit_id.data),
                birth_year=form.birth_year.data,
                gender=form.gender.data,
                id_number=form.id_number.data,
            )
        if result.ok:
            return _slip(slip, title=_("已代为注册"))
        status = result.error.status if result.error.status in (403, 409) else None
    return render_form("admin/person_new.html", form, status=status)


@bp.route("/admin/people/<int:user_id>", methods=["GET", "POST"])
@login_required
def person(user_id: int):
    access.require_admin(current_user)
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
    details = _details_form(user, formdata=None)
    return render_form(
        "admin/person.html",
        form,
        user=user,
        details=details,
        can_withdraw=access.can_withdraw,
        may_act=_may_act(user),
        phone=access.shown_phone(current_user, user),
        empty=EmptyForm(),
    )


def _may_act(user: User) -> bool:
    try:
        staff.check_may_act(current_user, user)
    except OperationError:
        return False
    return True


def _details_form(user: User, **kwargs) -> PersonForm:
    form = PersonForm(
        prefix="person",
        data={
            "name": user.name,
            "org_unit_id": user.org_unit_id,
            "birth_year": user.birth_year,
            "gender": user.gender or "",
            "id_number": user.masked_id_number,
        },
        **kwargs,
    )
    choices = _village_choices(current_user)
    if user.org_unit_id not in {choice.value for choice in choices}:
        choices.insert(0, SelectChoice(user.org_unit_id, user.org_unit.name))
    form.org_unit_id.choices = choices
    return form


@bp.post("/admin/people/<int:user_id>/details")
@login_required
def update_person(user_id: int):
    access.require_admin(current_user)
    user = access.get_managed_user_or_404(current_user, user_id)
    details = _details_form(user)
    if details.validate_on_submit():
        typed_id = (details.id_number.data or "").strip()
        # The form shows the masked number; sent back unchanged it means "keep it".
        id_number = user.id_number if typed_id == user.masked_id_number else typed_id
        with attempt(details) as result:
            changed = staff.update_person(
                current_user,
                user,
                name=details.name.data,
                org_unit=db.session.get(OrgUnit, details.org_unit_id.data),
                birth_year=details.birth_year.data,
                gender=details.gender.data or None,
                id_number=id_number or None,
            )
        if result.ok:
            flash(_("已保存") if changed else _("没有需要保存的修改"), "success")
            return redirect(url_for("accounts.person", user_id=user.id))
        status = result.error.status if result.error and result.error.status == 403 else 422
    else:
        status = 422
    grant_form = GrantRoleForm(formdata=None)
    grant_form.org_unit_id.choices = []
    return render_template(
        "admin/person.html",
        form=grant_form,
        user=user,
        details=details,
        can_withdraw=access.can_withdraw,
        may_act=_may_act(user),
        phone=access.shown_phone(current_user, user),
        empty=EmptyForm(),
    ), status


@bp.post("/admin/people/<int:user_id>/reset-password")
@login_required
def reset_password(user_id: int):
    access.require_admin(current_user)
    require_form_token()
    user = access.get_managed_user_or_404(current_user, user_id)
    slip = staff.reset_password(current_user, user)  # a refusal is a 403 page (OperationError)
    db.session.commit()
    return _slip(slip, title=_("密码已重置"))


@bp.post("/admin/people/<int:user_id>/deactivate")
@login_required
def deactivate_person(user_id: int):
    return _set_active(user_id, False)


@bp.post("/admin/people/<int:user_id>/reactivate")
@login_required
def reactivate_person(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    access.require_admin(current_user)
    require_form_token()
    user = access.get_managed_user_or_404(current_user, user_id)
    staff.set_active(current_user, user, active)
    db.session.commit()
    flash(_("账号已恢复") if active else _("账号已停用，此人的登录已全部退出"), "success")
    return redirect(url_for("accounts.person", user_id=user.id))


@bp.post("/admin/grants/<int:grant_id>/withdraw")
@login_required
def withdraw_grant(grant_id: int):
    access.require_admin(current_user)
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
    access.require_admin(current_user)
    units = access.managed_units(current_user)
    return render_template("admin/units.html", units=units)


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit(unit_id: int):
    access.require_admin(current_user)
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
