"""Run with a deployment's environment: upgrade the database (``lms db upgrade``'s migrations)
and add the people the deployment test and the load test need. Prints them as JSON.

    python -m tests.deploy.seed [RESIDENTS]
"""

from __future__ import annotations

import json
import sys

PASSWORD = "Qingshan#2026"


def main(residents: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select, update

    from lms import create_app
    from lms.accounts import operations as accounts
    from lms.accounts.models import Level, Role, User
    from lms.courses import operations as courses
    from lms.extensions import db

    app = create_app()
    with app.app_context():
        upgrade()
        county = accounts.create_org_unit(
            name="泸县", code="510521", level=Level.COUNTY, parent=None, population=764362
        )
        town = accounts.create_org_unit(
            name="福集镇", code="510521001", level=Level.TOWN, parent=county, population=90000
        )
        village = accounts.create_org_unit(
            name="青龙村", code="510521001001", level=Level.VILLAGE, parent=town, population=3000
        )
        courses.create_category("健康养生")

        def person(phone: str, name: str, unit, *roles: Role) -> dict:
            accounts.create_user(
                phone=phone,
                name=name,
                password=PASSWORD,
                org_unit=unit,
                roles=(Role.RESIDENT, *roles),
            )
            return {"phone": phone, "name": name, "password": PASSWORD}

        people = {
            "teacher": person("13900000001", "李秀英", town, Role.TEACHER),
            "registrar": person("13800000003", "赵学分", county, Role.REGISTRAR),
            "stranger": person("13700009999", "路人甲", village),
        }
        # Many residents (the load test): hashed cheaply, then all given the teacher's hash,
        # made at the real cost, so that every sign-in costs what it costs in production.
        real_cost = app.config["LMS_ARGON2"]
        app.config["LMS_ARGON2"] = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
        people["residents"] = [
            person(f"137{number:08d}", f"居民{number}", village)
            for number in range(1, residents + 1)
        ]
        app.config["LMS_ARGON2"] = real_cost
        db.session.flush()
        real_hash = db.session.scalar(
            select(User.password_hash).where(User.phone == people["teacher"]["phone"])
        )
        db.session.execute(
            update(User).where(User.phone.startswith("137")).values(password_hash=real_hash)
        )
        db.session.commit()
    print(json.dumps(people, ensure_ascii=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
