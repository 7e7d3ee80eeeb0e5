"""Resident import benchmark: a roll of N residents (default 10,000) as .xlsx, read and checked
(the dry run), then imported as the job does it (chunks of 500, a commit each), then the same
roll checked again (everything unchanged), with the production argon2 settings.

    .venv/bin/python -m benchmarks.imports [--rows 10000] [--database-url URL]

read + check    imports_read.read_table + imports.check_rows + record_dry_run + commit
import          imports.run_import (one-time passwords hashed in threads, users, resident
                grants, credit accounts, audit entries)
re-check        the same roll again: every row "unchanged"
full argon2     for comparison, what hashing the one-time passwords at the full sign-in
                cost would have taken (measured on 20 hashes, scaled)
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from benchmarks.credits import fresh_database, make_app
from lms.accounts import operations as accounts
from lms.accounts.models import Level, Role
from lms.accounts.passwords import hash_password
from lms.admin import imports
from lms.admin.imports_read import read_table
from lms.extensions import db

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(n: int, year: int) -> str:
    body = f"510521{year}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def roll(rows: int, villages: list[str]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["姓名", "手机号", "村(社区)", "出生年份", "性别", "身份证号"])
    rng = random.Random(13)
    for n in range(rows):
        year = rng.randint(1935, 2008)
        sheet.append(
            [
                f"居民{n:05d}",
                f"139{n:08d}",
                villages[n % len(villages)],
                year,
                "男" if n % 2 else "女",
                id_number(n, year) if n % 3 == 0 else "",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), args.database_url, LMS_ARGON2={})  # production cost
        with fresh_database(app), app.app_context():
            county = accounts.create_org_unit(
                name="泸县", code="510521", level=Level.COUNTY, parent=None
            )
            town = accounts.create_org_unit(
                name="福集镇", code="510521001", level=Level.TOWN, parent=county
            )
            names = []
            for v in range(1, 21):
                unit = accounts.create_org_unit(
                    name=f"第{v}村", code=f"510521001{v:03d}", level=Level.VILLAGE, parent=town
                )
                names.append(unit.name)
            admin = accounts.create_user(
                phone="13800000002",
                name="刘镇管",
                password="Luxian@2026x",
                org_unit=town,
                roles=(Role.RESIDENT, Role.ADMIN),
            )
            db.session.commit()
            data = roll(args.rows, names)
            print(
                f"roll: {args.rows} rows, {len(data) / 1024:.0f} KiB .xlsx; {os.cpu_count()} CPUs;"
                f" {db.engine.dialect.name}"
            )

            cpu_started = time.process_time()
            started = time.perf_counter()
            table = read_table(data, "名单.xlsx")
            rows = imports.check_rows(admin, table)
            batch = imports.record_dry_run(
                admin, table, rows, filename="名单.xlsx", data=data, extension="xlsx"
            )
            db.session.commit()
            checked = time.perf_counter() - started
            print(
                f"read + check    {checked:6.1f} s  ({batch.to_create} to create,"
                f" {batch.problem_rows} with problems)"
            )

            import_cpu_started = time.process_time()
            started = time.perf_counter()
            batch = imports.claim(batch.id, from_status=imports.ImportStatus.CHECKED)
            imports.run_import(batch, commit=db.session.commit)
            db.session.commit()
            imported = time.perf_counter() - started
            import_cpu = time.process_time() - import_cpu_started
            print(
                f"import          {imported:6.1f} s  ({batch.created} created; CPU time"
                f" {import_cpu:.1f} s)"
            )
            cpu = time.process_time() - cpu_started
            load = os.getloadavg()[0]
            print(
                f"dry run + import {checked + imported:5.1f} s  (target: under 60 s); CPU time"
                f" of this process {cpu:.1f} s; load average {load:.1f} on {os.cpu_count()} CPUs"
            )

            started = time.perf_counter()
            again = imports.check_rows(admin, read_table(data, "名单.xlsx"))
            rechecked = time.perf_counter() - started
            unchanged = sum(1 for row in again if row.action == "unchanged")
            print(f"re-check        {rechecked:6.1f} s  ({unchanged} unchanged)")

            started = time.perf_counter()
            for _n in range(20):
                hash_password("k7mp2xq9ab")
            full = (time.perf_counter() - started) / 20 * args.rows
            print(
                f"full argon2     {full:6.1f} s  (hashing {args.rows} one-time passwords at"
                " the sign-in cost, one thread, for comparison)"
            )


if __name__ == "__main__":
    main()
