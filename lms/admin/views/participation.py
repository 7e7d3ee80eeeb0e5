"""Admin pages: participation against the year's target, for the administrator's unit and the
units below it (drill down county → town → village), by month, category and age band; every
table downloads as .xlsx and CSV; county administrators set the yearly targets."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from lms.admin import (
    bp,
    exports,
    rollups,  # noqa: F401  (the rollup tables belong to this page)
)
from lms.admin import participation as figures
from lms.admin import participation_charts as charts
from lms.core.forms import Form, attempt, render_form
from lms.core.time import local_date, utcnow
from lms.core.web import int_arg


class TargetForm(Form):
    year = IntegerField(
        _l("年份"),
        validators=[
            InputRequired(_l("请填写年份")),
            NumberRange(2000, 2100, _l("年份应在 %(min)s 到 %(max)s 之间")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    percent = IntegerField(
        _l("参与率目标（%）"),
        validators=[
            InputRequired(_l("请填写目标")),
            NumberRange(1, 100, _l("目标应在 %(min)s%% 到 %(max)s%% 之间")),
        ],
        render_kw={"inputmode": "numeric"},
    )


def _year() -> int:
    this_year = local_date(utcnow()).year
    year = request.args.get("year", type=int)
    return year if year is not None and 2000 <= year <= this_year + 1 else this_year


def _page(form: TargetForm | None = None):
    unit = figures.get_unit_or_404(current_user, int_arg("unit"))
    year = _year()
    report = figures.report(unit, year, viewer=current_user)
    this_year = local_date(utcnow()).year
    hrefs = {
        row.key: url_for("admin.participation", unit=row.key, year=year) for row in report.children
    }
    can_set = figures.can_set_targets(current_user)
    if form is None and can_set:
        form = TargetForm(formdata=None, year=this_year, percent=figures.target_for(this_year))
    return render_form(
        "admin/participation.html",
        form or TargetForm(formdata=None),
        report=report,
        years=list(range(this_year, this_year - 3, -1)),
        units_chart=charts.rate_bars(report.children, report.target, hrefs=hrefs),
        months_chart=charts.month_columns(report.months),
        bands_chart=charts.share_bars(report.bands),
        targets=figures.targets(range(this_year - 2, this_year + 3)),
        can_set_targets=can_set,
    )


@bp.route("/admin/participation")
@login_required
def participation():
    return _page()


@bp.route("/admin/participation/targets", methods=["POST"])
@login_required
def set_participation_target():
    if not figures.can_set_targets(current_user):
        abort(403)
    form = TargetForm()
    if form.validate_on_submit():
        with attempt(form, done=_("参与率目标已保存")) as result:
            figures.set_target(current_user, form.year.data, form.percent.data)
        if result.ok:
            return redirect(url_for("admin.participation", year=form.year.data))
    return _page(form)


# Downloads --------------------------------------------------------------------------------


def tables(report: figures.Report) -> dict[str, tuple[str, list[str], list[list]]]:
    """Each table of the page: ``name → (file name, headers, rows)``; the page, the downloads
    and the API show the same figures."""
    number = figures.number
    year, unit = report.year, report.unit.name
    unit_rows = [report.total, *report.children]
    return {
        "units": (
            _("%(unit)s%(year)s年各单位参与率", unit=unit, year=year),
            [
                _("单位"),
                _("常住人口"),
                _("注册居民"),
                _("注册占人口（%）"),
                _("参与居民"),
                _("参与率（%）"),
                _("年度目标（%）"),
                _("学时"),
                _("学分"),
            ],
            [
                [
                    row.label,
                    row.population,
                    row.registered,
                    row.registered_share,
                    row.took_part,
                    row.rate,
                    report.target,
                    number(row.hours),
                    number(row.credits),
                ]
                for row in unit_rows
            ],
        ),
        "months": (
            _("%(unit)s近24个月参与情况", unit=unit),
            [_("月份"), _("参与居民"), _("参与率（%）"), _("学习记录"), _("学时"), _("学分")],
            [
                [
                    row.label,
                    row.took_part,
                    row.rate,
                    row.records,
                    number(row.hours),
                    number(row.credits),
                ]
                for row in report.months
            ],
        ),
        "categories": (
            _("%(unit)s%(year)s年按课程分类", unit=unit, year=year),
            [_("课程分类"), _("参与居民"), _("学习记录"), _("学时"), _("学分")],
            [
                [row.label, row.took_part, row.records, number(row.hours), number(row.credits)]
                for row in report.categories
            ],
        ),
        "bands": (
            _("%(unit)s%(year)s年按年龄段", unit=unit, year=year),
            [_("年龄段"), _("注册居民"), _("参与居民"), _("占注册居民（%）"), _("学时"), _("学分")],
            [
                [
                    row.label,
                    row.registered,
                    row.took_part,
                    row.took_part_share,
                    number(row.hours),
                    number(row.credits),
                ]
                for row in report.bands
            ],
        ),
    }


@bp.route("/admin/participation/<name>.<fmt>")
@login_required
def participation_download(name: str, fmt: str):
    unit = figures.get_unit_or_404(current_user, int_arg("unit"))
    report = figures.report(unit, _year())
    chosen = tables(report).get(name)
    if chosen is None:
        abort(404)
    filename, headers, rows = chosen
    return exports.download(headers, rows, filename, fmt)
