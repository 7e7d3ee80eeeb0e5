"""The demo county: 泸县 with its streets and towns, a few villages each, teachers, residents,
administrators and twelve published courses with text lessons."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from lms.accounts import operations as accounts
from lms.accounts.models import Level, OrgUnit, Role, User
from lms.activities.demo import load_activities
from lms.courses import operations as courses
from lms.extensions import db
from lms.media.demo_media import add_demo_media

DEMO_PASSWORD = "Luxian@2026"  # noqa: S105  (published demo accounts)

CATEGORIES = [
    "法制教育",
    "科普教育",
    "职业技能",
    "再就业培训",
    "农村实用技术",
    "健康养生",
    "休闲文化",
    "非遗传承",
    "家庭教育",
    "数字素养",
    "老年教育",
]

# 泸县 as it is: 玉蟾街道 and the 19 towns (checked against public gazetteer pages, see below),
# with the 764,362 resident population (常住人口) of the 2020 census (第七次全国人口普查).
#
# Per-town census figures: none were found in public records we could reach (searched for the
# county's 第七次全国人口普查公报 and per-town pages; found the county total 764,362, of which
# 315,076 urban, and gazetteer pages giving 福集镇 as 510521100 with 3 社区 and 16 村, but only
# rounded, undated population figures). So every town's population below is a PROPORTIONAL
# ESTIMATE (比例估算): relative weights (the county seat 玉蟾街道 largest, then the bigger towns)
# scaled so that the towns add up to the census total exactly. Replace them with the
# statistics bureau's figures when the county has them.
COUNTY_POPULATION = 764_362
POPULATION_IS_ESTIMATE = True
TOWN_WEIGHTS = {
    "玉蟾街道": 150,
    "福集镇": 62,
    "嘉明镇": 45,
    "喻寺镇": 38,
    "得胜镇": 30,
    "牛滩镇": 38,
    "兆雅镇": 36,
    "玄滩镇": 40,
    "太伏镇": 33,
    "云龙镇": 45,
    "石桥镇": 30,
    "毗卢镇": 28,
    "奇峰镇": 30,
    "潮河镇": 28,
    "云锦镇": 30,
    "立石镇": 33,
    "百和镇": 25,
    "天兴镇": 22,
    "方洞镇": 40,
    "海潮镇": 33,
}
# Town codes: 福集镇 510521100 is the published code; the others follow it in list order and
# 玉蟾街道 takes 510521001 (street codes come first) — illustrative, not checked.
TOWN_CODES = {"玉蟾街道": "510521001", "福集镇": "510521100"}
# A few villages and communities per town. Real names (from the public pages above): 福集镇's
# 大田社区, 天洋社区, 石鸭滩村, 赵岩村 (with their published codes); 玉蟾街道's 玉蟾村 and
# 小马滩村 and 喻寺镇's 周堰村 and 谭坝村 (named as neighbours of 福集镇's villages). The rest are
# illustrative names for the demo (示例名称), marked False.
REAL, ILLUSTRATIVE = True, False
VILLAGES = {
    "玉蟾街道": [("玉蟾村", REAL), ("小马滩村", REAL), ("龙城社区", ILLUSTRATIVE)],
    "福集镇": [("大田社区", REAL), ("天洋社区", REAL), ("石鸭滩村", REAL), ("赵岩村", REAL)],
    "喻寺镇": [("喻寺社区", ILLUSTRATIVE), ("周堰村", REAL), ("谭坝村", REAL)],
}
VILLAGE_CODES = {"大田社区": "015", "天洋社区": "016", "石鸭滩村": "231", "赵岩村": "232"}
_ILLUSTRATIVE_VILLAGES = ["青龙村", "金星村", "石龙村", "新民村", "双河村", "桂花村", "龙井村"]


def town_populations() -> dict[str, int]:
    """Each town's estimated population; they add up to the census total exactly."""
    total = sum(TOWN_WEIGHTS.values())
    shares = {name: COUNTY_POPULATION * weight // total for name, weight in TOWN_WEIGHTS.items()}
    shares["玉蟾街道"] += COUNTY_POPULATION - sum(shares.values())
    return shares


def town_villages(town: str, index: int) -> list[tuple[str, bool]]:
    if town in VILLAGES:
        return VILLAGES[town]
    stem = town.removesuffix("镇").removesuffix("街道")
    picks = [_ILLUSTRATIVE_VILLAGES[(index + k) % len(_ILLUSTRATIVE_VILLAGES)] for k in (0, 3)]
    return [(f"{stem}社区", ILLUSTRATIVE), (picks[0], ILLUSTRATIVE), (picks[1], ILLUSTRATIVE)]


TEACHERS = [
    ("13900000001", "李秀英", "玉蟾街道"),
    ("13900000002", "王建国", "福集镇"),
    ("13900000003", "张丽华", "嘉明镇"),
]
STAFF = [
    ("13800000001", "陈县管", Role.ADMIN, None),
    ("13800000002", "刘镇管", Role.ADMIN, "福集镇"),
    ("13800000003", "赵学分", Role.REGISTRAR, None),
]
RESIDENT_NAMES = [
    "王芳",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨勇",
    "黄磊",
    "赵敏",
    "周杰",
    "吴霞",
    "徐明",
    "孙丽",
    "马超",
    "朱红",
    "胡军",
    "郭琳",
    "何平",
    "林涛",
    "罗梅",
    "高峰",
    "梁燕",
    "宋刚",
    "郑娟",
    "谢斌",
    "韩雪",
    "唐亮",
    "冯英",
    "邓辉",
    "曹云",
    "彭波",
]

COURSES = [
    (
        "生猪科学养殖技术",
        "农村实用技术",
        16,
        0,
        "从猪舍建设、饲料配比到疫病防控，手把手讲解适合家庭农场的生猪养殖方法。",
        [
            ("猪舍选址与建设", "猪舍要建在地势高燥、背风向阳、远离水源的地方。"),
            ("饲料配比与喂养", "不同生长阶段的猪需要不同的饲料配比，仔猪要少喂多餐。"),
            ("常见疫病防控", "按时免疫接种，做好消毒和隔离，发现病猪及时报告兽医。"),
        ],
    ),
    (
        "老年人智能手机入门",
        "数字素养",
        8,
        0,
        "学会用智能手机打电话、发微信、视频聊天、扫码乘车和网上挂号。",
        [
            ("认识智能手机", "手机屏幕上的小图标叫“应用”，轻轻点一下就能打开。"),
            ("微信视频通话", "打开微信，找到家人，点右下角的“＋”，选择“视频通话”。"),
            ("防范电信诈骗", "陌生人要求转账、索要验证码的，一律不理，及时拨打 96110 咨询。"),
        ],
    ),
    (
        "民法典与百姓生活",
        "法制教育",
        12,
        1,
        "结合身边案例，讲解婚姻家庭、继承、邻里关系中常用的民法典条文。",
        [
            ("民法典是什么", "民法典被称为“社会生活的百科全书”，2021 年 1 月 1 日起施行。"),
            ("婚姻家庭与继承", "遗嘱可以自书、代书、打印、录音录像，也可以公证。"),
        ],
    ),
    (
        "高血压的预防与管理",
        "健康养生",
        6,
        2,
        "社区医生讲解高血压的成因、饮食与运动调理以及按时服药的重要性。",
        [
            ("认识高血压", "成年人收缩压≥140 或舒张压≥90 毫米汞柱即为高血压。"),
            ("饮食与运动", "每天食盐不超过 5 克，坚持快走、太极拳等有氧运动。"),
        ],
    ),
    (
        "泸州油纸伞制作技艺",
        "非遗传承",
        20,
        2,
        "跟随非遗传承人学习分江油纸伞的选竹、制骨、糊纸和绘花工序。",
        [
            ("油纸伞的历史", "分江油纸伞制作技艺已列入国家级非物质文化遗产名录。"),
            ("选竹与制骨", "选用三年以上的楠竹，伞骨要削得均匀光滑。"),
        ],
    ),
    (
        "家庭教育：陪伴孩子成长",
        "家庭教育",
        10,
        0,
        "家长如何与孩子沟通、培养好习惯、应对青春期的烦恼。",
        [
            ("好好说话", "多倾听、少说教，先接纳孩子的情绪，再讨论问题。"),
            ("培养学习习惯", "固定学习时间和地点，家长以身作则，少看手机。"),
        ],
    ),
    (
        "电工基础与安全用电",
        "职业技能",
        24,
        1,
        "面向农村劳动力的电工入门课程，讲解家庭电路、常用工具与安全规范。",
        [
            ("家庭电路组成", "家庭电路由进户线、电能表、总开关、保护装置和用电器组成。"),
            ("安全用电常识", "不用湿手触摸开关，发现有人触电要先切断电源。"),
        ],
    ),
    (
        "农村电商实操",
        "再就业培训",
        18,
        1,
        "开网店、拍产品、做直播，把家乡的土特产卖出去。",
        [
            ("开一家网店", "准备好身份证和银行卡，按平台提示完成实名认证。"),
            ("拍出好看的产品照片", "利用自然光，背景简洁，多拍细节。"),
        ],
    ),
    (
        "川剧唱腔欣赏",
        "休闲文化",
        8,
        2,
        "认识川剧的五种声腔，欣赏经典唱段。",
        [
            ("川剧五腔", "川剧由昆、高、胡、弹、灯五种声腔组成。"),
            ("经典唱段赏析", "《秋江》是川剧高腔的代表剧目之一。"),
        ],
    ),
    (
        "应急避险与自救互救",
        "科普教育",
        6,
        0,
        "地震、洪水、火灾来临时如何避险，掌握心肺复苏等急救技能。",
        [
            ("地震避险", "室内避险要远离窗户，躲在坚固的桌子下护住头部。"),
            ("心肺复苏", "按压胸部正中，深度 5～6 厘米，每分钟 100～120 次。"),
        ],
    ),
    (
        "太极拳养生",
        "老年教育",
        12,
        2,
        "二十四式简化太极拳分解教学，适合中老年人。",
        [
            ("起势与野马分鬃", "两脚开立与肩同宽，两臂慢慢向前平举。"),
            ("白鹤亮翅", "重心后移，右手上提，左手下按，眼看前方。"),
        ],
    ),
    (
        "柑橘种植与病虫害防治",
        "农村实用技术",
        14,
        0,
        "讲解柑橘建园、修剪、施肥和主要病虫害的绿色防控。",
        [
            ("建园与定植", "选择土层深厚、排水良好的缓坡地建园。"),
            ("病虫害绿色防控", "推广使用杀虫灯、黄板和捕食螨，减少化学农药用量。"),
        ],
    ),
]


def load_demo(echo: Callable[[str], None] = print) -> bool:
    """Load the demo county into an empty database. Returns False (and does nothing) otherwise."""
    if db.session.scalar(select(func.count()).select_from(OrgUnit)):
        echo("数据库中已有数据，跳过演示数据。 (the database already has data; demo not loaded)")
        _print_accounts(echo)
        return False

    county = accounts.create_org_unit(
        name="泸县", code="510521", level=Level.COUNTY, parent=None, population=COUNTY_POPULATION
    )
    towns: dict[str, OrgUnit] = {}
    villages: list[OrgUnit] = []
    populations = town_populations()
    for index, town_name in enumerate(TOWN_WEIGHTS):
        code = TOWN_CODES.get(town_name) or f"510521{100 + index - 1:03d}"
        town = accounts.create_org_unit(
            name=town_name,
            code=code,
            level=Level.TOWN,
            parent=county,
            population=populations[town_name],
        )
        towns[town_name] = town
        names = town_villages(town_name, index)
        for number, (village_name, _real) in enumerate(names, start=1):
            villages.append(
                accounts.create_org_unit(
                    name=village_name,
                    code=f"{town.code}{VILLAGE_CODES.get(village_name, f'{200 + number:03d}')}",
                    level=Level.VILLAGE,
                    parent=town,
                    # A village's share of its town (the demo lists only a few of them).
                    population=populations[town_name] // (len(names) + 4),
                )
            )

    categories = {name: courses.create_category(name) for name in CATEGORIES}

    staff = {}
    for phone, name, role, town_name in STAFF:
        unit = towns[town_name] if town_name else county
        staff[role] = accounts.create_user(
            phone=phone,
            name=name,
            password=DEMO_PASSWORD,
            org_unit=unit,
            roles=(Role.RESIDENT, role),
        )
    teachers = []
    for phone, name, town_name in TEACHERS:
        teachers.append(
            accounts.create_user(
                phone=phone,
                name=name,
                password=DEMO_PASSWORD,
                org_unit=towns[town_name],
                roles=(Role.RESIDENT, Role.TEACHER),
            )
        )
    residents = []
    for index, name in enumerate(RESIDENT_NAMES):
        resident = accounts.create_user(
            phone=f"137{index + 1:08d}",
            name=name,
            password=DEMO_PASSWORD,
            org_unit=villages[index % len(villages)],
            birth_year=1940 + (index * 3) % 60,
        )
        residents.append(resident)

    published = []
    for title, category, hours, teacher_index, summary, lessons in COURSES:
        course = courses.create_course(
            teachers[teacher_index],
            title=title,
            summary=f"<p>{summary}</p>",
            category=categories[category],
            hours=hours,
        )
        for lesson_title, body in lessons:
            courses.add_text_lesson(course, title=lesson_title, body=f"<p>{body}</p>")
        courses.publish_course(course)
        published.append(course)
    _certify_hours(staff[Role.REGISTRAR], published)
    db.session.commit()
    _learning_history(residents, published)
    many = _county_history(villages, published)
    add_demo_media(published, teachers, echo)  # covers, a PDF, three short narrated videos
    load_activities(echo)  # past activities closed into credits, upcoming ones open
    _build_rollups()
    echo(
        f"演示数据已载入：泸县（{len(towns)} 个街道和镇、{len(villages)} 个村和社区，"
        f"常住人口 {COUNTY_POPULATION:,}，各镇人口为按比例估算）、3 名教师、"
        f"{len(residents) + many} 名居民及其近 24 个月的学习记录、12 门课程。"
    )
    _print_accounts(echo)
    return True


DEMO_HOURS_REASON = "演示课程：课时为内容提要，配套线下面授和实践练习，按申报学时认定"


def _certify_hours(registrar: User, published: list) -> None:
    """The county registrar certifies every demo course at its declared 学时 (their text
    lessons are only outlines, so the reason says where the rest of the hours are spent), so
    that completing a demo course earns credits."""
    from lms.credits import operations as credits

    for course in published:
        credits.certify_course_hours(
            registrar, course, hours=course.hours, reason=DEMO_HOURS_REASON
        )


def _learning_history(residents: list[User], published: list) -> None:
    """A little history, so the learning file, the credit bank and the registrar's queue have
    something to show: 王芳 finished two courses and waits for a volunteer certificate."""
    import io
    from datetime import timedelta

    from PIL import Image, ImageDraw

    from lms.core.time import local_date, utcnow
    from lms.credits import operations as credits
    from lms.credits.models import OutcomeKind
    from lms.learning import operations as learning

    for resident, course in [
        (residents[0], published[0]),
        (residents[0], published[1]),
        (residents[1], published[0]),
    ]:
        learning.enrol(resident, course)
        opened = utcnow() - timedelta(hours=2)  # read a while ago, long enough to count
        for lesson in course.lessons:
            learning.open_lesson(resident, lesson, now=opened)
            learning.mark_learnt(resident, lesson)
    photo = Image.new("RGB", (640, 440), "#f6edd5")
    ImageDraw.Draw(photo).rectangle((24, 24, 615, 415), outline="#b3261e", width=8)
    evidence = io.BytesIO()
    photo.save(evidence, "PNG")
    evidence.seek(0)
    credits.submit_outcome(
        residents[0],
        kind=OutcomeKind.VOLUNTEER,
        title="社区防汛志愿服务",
        hours="6",
        occurred_on=local_date(utcnow()) - timedelta(days=3),
        issuer="福集镇志愿者协会",
        evidence=[(evidence, "志愿服务证明.png")],
    )
    db.session.commit()


SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高梁宋郑谢韩唐冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向汤"
GIVEN = "秀英桂英玉兰淑珍建国建华志强明华国强海燕丽娟文军德明永福春梅晓红家兴成林光荣大勇小平红梅金凤学文世杰"
MANY_RESIDENTS = 1500  # spread over the villages, phones 135 0000 0001 …


def _county_history(villages: list[OrgUnit], published: list) -> int:
    """Many residents across the county with learning spread over the last 24 months, so the
    participation dashboard shows something real on first start. Written in bulk (a few
    thousand rows in a few statements, not one operation per row, so `lms demo load` stays
    quick): residents and their resident role, enrolments, lessons learnt and completions; each
    completion's outcome and its credits through the credit bank's posting operation, dated
    when it happened. Returns how many residents were added."""
    import random
    from datetime import UTC, datetime, timedelta

    from flask import current_app
    from sqlalchemy import insert, update

    from lms.accounts.models import RoleGrant
    from lms.accounts.passwords import hash_password
    from lms.core.time import display_zone, local_date, utcnow
    from lms.courses.models import Course
    from lms.credits import operations as credits
    from lms.credits.models import CreditAccount
    from lms.learning.models import Enrolment, LessonProgress

    rng = random.Random(13)  # the same county on every machine
    now = utcnow()
    today = local_date(now)
    zone = display_zone()
    password_hash = hash_password(DEMO_PASSWORD)
    weights = [village.population for village in villages]
    homes = rng.choices(villages, weights=weights, k=MANY_RESIDENTS)
    people = []
    for index, home in enumerate(homes):
        age = rng.choices(
            [rng.randint(16, 44), rng.randint(45, 59), rng.randint(60, 88)], [3, 3, 4]
        )[0]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        people.append(
            {
                "phone": f"135{index + 1:08d}",
                "name": name,
                "password_hash": password_hash,
                "org_unit_id": home.id,
                "birth_year": today.year - age,
                "active": True,
            }
        )
    db.session.execute(insert(User), people)
    ids = dict(db.session.execute(select(User.phone, User.id).where(User.phone.like("135%"))).all())
    db.session.execute(
        insert(RoleGrant),
        [
            {"user_id": ids[p["phone"]], "role": Role.RESIDENT, "org_unit_id": p["org_unit_id"]}
            for p in people
        ],
    )

    # Their credit accounts (sign-up opens one per resident; here in one statement, numbered
    # after the accounts opened this year).
    year = today.year
    sequence = db.session.scalar(
        select(func.coalesce(func.max(CreditAccount.sequence), 0)).filter_by(year=year)
    )
    county_code = current_app.config["LMS_COUNTY_CODE"]
    db.session.execute(
        insert(CreditAccount),
        [
            {
                "user_id": ids[p["phone"]],
                "account_no": f"{county_code}-{year}-{sequence + n:06d}",
                "year": year,
                "sequence": sequence + n,
                "opened_at": now,
                "balance": 0,
                "entry_count": 0,
            }
            for n, p in enumerate(people, start=1)
        ],
    )

    def moment(months_ago: int) -> datetime:
        year, month = today.year, today.month - months_ago
        while month < 1:
            year, month = year - 1, month + 12
        last = today.day if months_ago == 0 else 28
        local = datetime(year, month, rng.randint(1, last), rng.randint(7, 21), rng.randint(0, 59))
        at = local.replace(tzinfo=zone).astimezone(UTC)
        return min(at, now - timedelta(minutes=10))

    enrolments, progress, completions = {}, [], []
    for person in people:
        user_id = ids[person["phone"]]
        # About 3 in 5 residents learn at all; more of them lately (the programme is growing).
        if rng.random() > 0.6:
            continue
        months = sorted(
            {min(23, int(rng.triangular(0, 23, 0))) for _ in range(rng.randint(1, 5))}, reverse=True
        )
        learnt: dict[int, set[int]] = {}
        for months_ago in months:
            course = rng.choice(published)
            lessons = course.lessons
            done = learnt.setdefault(course.id, set())
            # Most study a lesson or two a month; a course is finished over several months.
            for lesson in [x for x in lessons if x.id not in done][: rng.choice((1, 1, 1, 2))]:
                at = moment(months_ago)
                done.add(lesson.id)
                enrolments.setdefault(
                    (user_id, course.id), {"at": at - timedelta(hours=1), "done": None}
                )
                progress.append(
                    {
                        "user_id": user_id,
                        "lesson_id": lesson.id,
                        "intervals": [],
                        "watched_s": 0.0,
                        "resume_position_s": 0.0,
                        "opened_at": at - timedelta(minutes=30),
                        "completed_at": at,
                        "budget_s": 0.0,
                        "budget_at": at,
                        "version": 1,
                    }
                )
                if len(done) == len(lessons):
                    enrolments[(user_id, course.id)]["done"] = at
                    completions.append((at, user_id, course))
    db.session.execute(
        insert(Enrolment),
        [
            {
                "user_id": user_id,
                "course_id": course_id,
                "enrolled_at": value["at"],
                "completed_at": value["done"],
            }
            for (user_id, course_id), value in enrolments.items()
        ],
    )
    db.session.execute(insert(LessonProgress), progress)
    for course in published:
        count = sum(1 for (_user, course_id) in enrolments if course_id == course.id)
        db.session.execute(
            update(Course)
            .where(Course.id == course.id)
            .values(enrolment_count=Course.enrolment_count + count)
        )
    db.session.flush()
    # Completions: the online-course outcome, certified by the system, and its credits posted
    # through the ledger's operation on the day of completion (oldest first: the chain is in
    # time order).
    users = {
        user.id: user
        for user in db.session.scalars(select(User).where(User.id.in_([c[1] for c in completions])))
    }
    for at, user_id, course in sorted(completions, key=lambda c: c[0]):
        user = users[user_id]
        credits.post_course_completion(user, course, credits.account_for(user), at)
    db.session.commit()
    return len(people)


def _build_rollups() -> None:
    """The participation figures, so the dashboard has them before the worker's first run."""
    from lms.admin import rollups
    from lms.admin.cli import under_rollups_lock

    under_rollups_lock(rollups.rebuild)


def _print_accounts(echo: Callable[[str], None]) -> None:
    if db.session.scalar(select(User.id).filter_by(phone="13700000001")) is None:
        return
    echo(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    echo("  居民    13700000001 王芳")
    echo("  教师    13900000001 李秀英（玉蟾街道）")
    echo("  县管理员 13800000001 陈县管；镇管理员 13800000002 刘镇管（福集镇）")
    echo("  学分银行专员 13800000003 赵学分")
