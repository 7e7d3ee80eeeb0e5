"""Bulk import of residents: a roll read by imports_read is checked row by row (the dry run:
every problem with its row and column, in Chinese), then its good rows are imported: new
residents get one-time passwords (on a printable list), changed rows update the person,
unchanged rows change nothing, and nothing is ever deleted. Large rolls run in the job queue
(imports_tasks) in chunks that commit with the progress; a failed run can be repeated, since
importing the same roll again changes nothing."""

from __future__ import annotations

import enum
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship, selectinload

from lms.accounts import access, staff, validation
from lms.accounts.models import Level, OrgUnit, Role, RoleGrant, User
from lms.accounts.operations import audit
from lms.accounts.passwords import (
    hash_one_time_password,
    new_one_time_password,
    one_time_pepper,
)
from lms.accounts.sealing import seal, unseal
from lms.admin.imports_read import COLUMNS, Table
from lms.core import signals, storage
from lms.core.errors import OperationError
from lms.core.jobs import after_commit
from lms.core.models import CreatedMixin, intpk, str200, str_enum, utc_datetime
from lms.core.tasks import delete_media_file
from lms.core.time import utcnow
from lms.extensions import db

MAX_PROBLEMS_KEPT = 5_000
CHUNK = 500


class ImportStatus(enum.StrEnum):
    CHECKED = "checked"  # the dry run is done; nothing imported yet
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(
            {
                "checked": _l("已检查，待导入"),
                "queued": _l("排队中"),
                "running": _l("导入中"),
                "done": _l("已完成"),
                "failed": _l("失败"),
            }[self.value]
        )


class ResidentImport(CreatedMixin, db.Model):
    """One uploaded roll: its dry run, then its import. The file stays in the media folder
    (``imports/``) until the import is done; the one-time passwords of the new residents are
    kept sealed for the importer's printable list."""

    id: Mapped[intpk]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    filename: Mapped[str200]
    file: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus))
    total_rows: Mapped[int] = mapped_column(default=0)
    good_rows: Mapped[int] = mapped_column(default=0)
    to_create: Mapped[int] = mapped_column(default=0)
    to_update: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    problem_rows: Mapped[int] = mapped_column(default=0)
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [[row, column, message], …]
    notes: Mapped[list] = mapped_column(JSON, default=list)
    processed: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    failure: Mapped[str | None] = mapped_column(Text)
    slips_sealed: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[utc_datetime | None]

    created_by: Mapped[User] = relationship()

    @property
    def progress(self) -> int:
        if self.status is ImportStatus.DONE:
            return 100
        return min(99, round(100 * self.processed / self.good_rows)) if self.good_rows else 0


# Checking -------------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    values: dict[str, object] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column key, message)
    user: User | None = None
    action: str | None = None  # "create", "update", "unchanged"

    def problem(self, key: str, message: str) -> None:
        self.problems.append((key, message))


class Villages:
    """Village lookup by code, by name, or by "town village" (a name unique in the county)."""

    def __init__(self, actor: User):
        self.actor = actor
        units = db.session.scalars(select(OrgUnit).filter_by(level=Level.VILLAGE)).all()
        self.by_code = {unit.code: unit for unit in units}
        self.by_name: dict[str, list[OrgUnit]] = {}
        for unit in units:
            for name in {unit.name, f"{unit.parent.name}{unit.name}" if unit.parent else unit.name}:
                self.by_name.setdefault(_squeeze(name), []).append(unit)
        self.scopes = access.grant_units(actor, Role.ADMIN)

    def find(self, text: str) -> tuple[OrgUnit | None, str | None]:
        key = _squeeze(text).replace("/", "")
        if not key:
            return None, _("请填写村（社区）名称或编码")
        found = [self.by_code[key]] if key in self.by_code else self.by_name.get(key, [])
        mine = [unit for unit in found if any(s.contains(unit) for s in self.scopes)]
        if len(mine) == 1:
            return mine[0], None
        if len(mine) > 1:
            return None, _("有多个同名的村（社区），请填写编码或在前面加上镇名")
        if found:
            return None, _("该村（社区）不在您的管理范围内")
        return None, _("找不到这个村（社区），请填写系统中的名称或编码")


def _squeeze(text: str) -> str:
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", text).split())


def check_rows(
    actor: User,
    table: Table,
    *,
    villages: Villages | None = None,
    first_row_of: dict[str, int] | None = None,
) -> list[Row]:
    """The dry run: every row with its problems and what importing it would do. *first_row_of*
    (phone -> row) carries the duplicate check across the chunks of one roll."""
    villages = villages or Villages(actor)
    formulas = set(table.formulas)
    rows: list[Row] = []
    first_row_of = {} if first_row_of is None else first_row_of
    for number, cells in table.rows:
        row = Row(number)
        for key in cells:
            if (number, key) in formulas:
                row.problem(key, _("单元格是公式，请复制后“粘贴为数值”再导入"))
        _check_fields(row, cells, villages)
        phone = row.values.get("phone")
        if isinstance(phone, str):
            if phone in first_row_of:
                row.problem("phone", _("手机号与第 %(n)s 行重复", n=first_row_of[phone]))
            else:
                first_row_of[phone] = number
        rows.append(row)
    _compare_with_people(actor, rows)
    return rows


def _check_fields(row: Row, cells: dict[str, str], villages: Villages) -> None:
    checks: dict[str, Callable[[str], object]] = {
        "name": validation.clean_name,
        "phone": validation.normalize_phone,
        "birth_year": _birth_year,
        "gender": validation.clean_gender,
        "id_number": validation.check_id_number,
    }
    for key, check in checks.items():
        if any(k == key for k, _m in row.problems):
            continue
        try:
            row.values[key] = check(cells.get(key, ""))
        except ValueError as error:
            row.problem(key, str(error))
    unit, problem = villages.find(cells.get("village", ""))
    if problem:
        row.problem("village", problem)
    row.values["village"] = unit
    year, number = row.values.get("birth_year"), row.values.get("id_number")
    if isinstance(year, int) and isinstance(number, str) and int(number[6:10]) != year:
        row.problem("birth_year", _("出生年份与身份证号中的不一致"))
    if number and year is None:
        row.values["birth_year"] = int(number[6:10])
    if number and row.values.get("gender") is None:
        row.values["gender"] = "男" if int(number[16]) % 2 else "女"


def _birth_year(text: str) -> int | None:
    text = _squeeze(text).removesuffix("年")
    if not text:
        return None
    if not text.isdigit() or len(text) != 4:
        raise ValueError(_("出生年份应为四位数字，如 1956"))
    return validation.check_birth_year(int(text))


def _compare_with_people(actor: User, rows: list[Row]) -> None:
    phones = [r.values["phone"] for r in rows if isinstance(r.values.get("phone"), str)]
    people: dict[str, User] = {}
    for start in range(0, len(phones), 500):
        query = (
            select(User)
            .where(User.phone.in_(phones[start : start + 500]))
            .options(
                joinedload(User.org_unit),
                selectinload(User.grants).joinedload(RoleGrant.org_unit),
            )
        )
        for user in db.session.scalars(query).unique():
            people[user.phone] = user
    for row in rows:
        user = people.get(row.values.get("phone"))  # type: ignore[arg-type]
        if row.problems:
            continue
        if user is None:
            row.action = "create"
            continue
        try:
            staff.check_may_act(actor, user)
        except OperationError:
            row.problem("phone", _("该手机号已被您管理范围以外的账号使用"))
            continue
        row.user = user
        row.action = "update" if _differs(user, row.values) else "unchanged"


def _differs(user: User, values: dict[str, object]) -> bool:
    return (
        user.name != values["name"]
        or user.org_unit_id != values["village"].id  # type: ignore[union-attr]
        or (values["birth_year"] is not None and user.birth_year != values["birth_year"])
        or (values["gender"] is not None and user.gender != values["gender"])
        or (values["id_number"] is not None and user.id_number != values["id_number"])
    )


def column_label(key: str) -> str:
    return str(COLUMNS[key][0]) if key in COLUMNS else key


def record_dry_run(
    actor: User, table: Table, rows: list[Row], *, filename: str, data: bytes, extension: str
) -> ResidentImport:
    """Keep the file and the dry run's findings as a ResidentImport (CHECKED)."""
    relative = f"imports/{secrets.token_hex(12)}.{extension}"
    path = storage.media_path(relative)
    storage.write_atomically(path, data)
    storage.discard_on_rollback(db.session, relative)
    problems = [
        [row.number, column_label(key), message] for row in rows for key, message in row.problems
    ]
    batch = ResidentImport(
        created_by_id=actor.id,
        filename=filename[:200],
        file=relative,
        status=ImportStatus.CHECKED,
        total_rows=len(rows),
        good_rows=sum(1 for r in rows if not r.problems),
        to_create=sum(1 for r in rows if r.action == "create"),
        to_update=sum(1 for r in rows if r.action == "update"),
        unchanged=sum(1 for r in rows if r.action == "unchanged"),
        problem_rows=sum(1 for r in rows if r.problems),
        problems=problems[:MAX_PROBLEMS_KEPT],
        notes=[str(n) for n in table.notes],
    )
    db.session.add(batch)
    db.session.flush()
    return batch


# Importing -----------------------------------------------------------------------------------


def claim(batch_id: int, *, from_status: ImportStatus) -> ResidentImport | None:
    """Move the import to RUNNING if it is still in *from_status* (one conditional UPDATE, so two
    clicks or two workers never run it twice)."""
    from sqlalchemy import update

    result = db.session.execute(
        update(ResidentImport)
        .where(ResidentImport.id == batch_id, ResidentImport.status == from_status)
        .values(status=ImportStatus.RUNNING)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    batch = db.session.get(ResidentImport, batch_id)
    db.session.refresh(batch)
    return batch


def run_import(batch: ResidentImport, *, commit: Callable[[], None] | None = None) -> None:
    """Import the good rows of *batch* (RUNNING), re-checking each chunk against the database as
    it is now. *commit* is called after each chunk (the job commits, showing progress; a page
    importing a small roll commits once at the end)."""
    from lms.admin.imports_read import read_table

    actor = batch.created_by
    data = storage.media_path(batch.file).read_bytes()
    table = read_table(data, batch.filename)
    villages = Villages(actor)
    slips: list[dict[str, object]] = json.loads(unseal(batch.slips_sealed) or "[]")
    rows_all = table.rows
    problems = 0
    first_row_of: dict[str, int] = {}
    for start in range(0, len(rows_all), CHUNK):
        chunk = Table(rows=rows_all[start : start + CHUNK], formulas=table.formulas)
        rows = check_rows(actor, chunk, villages=villages, first_row_of=first_row_of)
        problems += sum(1 for r in rows if r.problems)
        good = [r for r in rows if not r.problems]
        created = _create(actor, batch, [r for r in good if r.action == "create"])
        slips.extend(created)
        for row in good:
            if row.action == "update":
                staff.update_person(
                    actor,
                    row.user,  # type: ignore[arg-type]
                    name=row.values["name"],  # type: ignore[arg-type]
                    org_unit=row.values["village"],  # type: ignore[arg-type]
                    birth_year=row.values["birth_year"] or row.user.birth_year,  # type: ignore
                    gender=row.values["gender"] or row.user.gender,  # type: ignore
                    id_number=row.values["id_number"] or row.user.id_number,  # type: ignore
                    action="person_import_updated",
                )
                batch.updated += 1
        batch.created += len(created)
        batch.processed += len(good)
        batch.slips_sealed = seal(json.dumps(slips))
        db.session.flush()
        if commit is not None:
            commit()
    batch.status = ImportStatus.DONE
    batch.finished_at = utcnow()
    audit(
        actor,
        "residents_imported",
        target=batch,
        filename=batch.filename,
        created=batch.created,
        updated=batch.updated,
        skipped=problems,
    )
    # Only once this is committed: a failed commit leaves the file for the run to be repeated.
    after_commit(db.session, delete_media_file, batch.file)
    batch.file = None
    db.session.flush()


def _create(actor: User, batch: ResidentImport, rows: list[Row]) -> list[dict[str, object]]:
    """New residents for *rows*, each with a one-time password (passwords.py says how these
    are hashed, and why not with argon2)."""
    if not rows:
        return []
    passwords = [new_one_time_password() for _row in rows]
    pepper = one_time_pepper()
    hashes = [hash_one_time_password(password, pepper=pepper) for password in passwords]
    users = []
    for row, password_hash in zip(rows, hashes, strict=True):
        unit = row.values["village"]
        user = User(
            phone=row.values["phone"],
            name=row.values["name"],
            password_hash=password_hash,
            must_change_password=True,
            org_unit=unit,
            birth_year=row.values["birth_year"],
            gender_sealed=seal(row.values["gender"]),  # type: ignore[arg-type]
            id_number_sealed=seal(row.values["id_number"]),  # type: ignore[arg-type]
        )
        user.grants.append(RoleGrant(role=Role.RESIDENT, org_unit=unit, granted_by=actor))
        users.append(user)
    db.session.add_all(users)
    db.session.flush()
    signals.users_created.send(users)  # credits opens the residents' accounts, all at once
    for user in users:
        audit(actor, "person_imported", subject=user, target=batch, unit=user.org_unit.code)
    db.session.flush()
    return [
        {"user_id": user.id, "password": password}
        for user, password in zip(users, passwords, strict=True)
    ]


@dataclass
class PrintedSlip:
    user: User
    password: str


SLIPS_KEPT = timedelta(days=30)


def printable_slips(batch: ResidentImport, viewer: User) -> list[PrintedSlip]:
    """The one-time passwords of the residents this import created who have not yet chosen
    their own password (the others' are no longer any use) and whom *viewer* still manages;
    none once the import finished more than SLIPS_KEPT ago (a 410)."""
    if batch.finished_at is not None and utcnow() - batch.finished_at > SLIPS_KEPT:
        raise OperationError(
            _("本次导入已超过 30 天，登录凭条不再显示；如有居民仍未登录，请为其重置密码"),
            status=410,
            code="gone",
        )
    slips = json.loads(unseal(batch.slips_sealed) or "[]")
    ids = [s["user_id"] for s in slips]
    users = {}
    for start in range(0, len(ids), 500):
        for user in db.session.scalars(select(User).where(User.id.in_(ids[start : start + 500]))):
            users[user.id] = user
    return [
        PrintedSlip(users[s["user_id"]], s["password"])
        for s in slips
        if s["user_id"] in users
        and users[s["user_id"]].must_change_password
        and access.can_manage_user(viewer, users[s["user_id"]])
    ]
