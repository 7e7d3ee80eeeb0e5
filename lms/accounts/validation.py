"""Rules about phones, names and passwords, shared by the web forms and the API schemas so that
each rule is written once. Each raises ``ValueError`` with a message for the user."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache
from importlib import resources

from flask import current_app
from flask_babel import gettext as _

PHONE = re.compile(r"1[3-9]\d{9}")


def normalize_phone(value: str | None) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix are dropped)."""
    # Full-width digits and signs (１３８…, ＋８６) as Chinese input methods type them.
    phone = unicodedata.normalize("NFKC", value or "")
    phone = re.sub(r"[\s\-()]", "", phone)
    phone = re.sub(r"^(\+?86)(?=1\d{10}$)", "", phone)
    if not phone:
        raise ValueError(_("请填写手机号"))
    if not PHONE.fullmatch(phone):
        raise ValueError(_("手机号格式不正确，请填写 11 位大陆手机号"))
    return phone


def clean_name(value: str | None) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValueError(_("请填写姓名"))
    if len(name) > 40:
        raise ValueError(_("姓名不能超过 40 个字"))
    if re.search(r"[<>\"'&]", name):
        raise ValueError(_("姓名不能包含特殊符号"))
    return name


def check_birth_year(value: int | None) -> int | None:
    if value is None:
        return None
    this_year = date.today().year
    if not this_year - 120 <= value <= this_year:
        raise ValueError(
            _("出生年份应在 %(low)s 到 %(high)s 之间", low=this_year - 120, high=this_year)
        )
    return value


def check_password(password: str | None, *, phone: str | None = None) -> str:
    """Refuse short, common and phone-derived passwords."""
    password = password or ""
    minimum = current_app.config["LMS_PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ValueError(_("密码至少需要 %(n)s 位", n=minimum))
    if len(password) > 128:
        raise ValueError(_("密码不能超过 128 位"))
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) <= 2:
        raise ValueError(_("这个密码太常见，容易被猜到，请换一个"))
    if phone and (phone in password or password in phone):
        raise ValueError(_("密码不能包含手机号"))
    return password


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("lms.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


GENDERS = ("男", "女")
ID_NUMBER = re.compile(r"\d{17}[\dX]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def clean_gender(value: str | None) -> str | None:
    """男 or 女 (also M/F, male/female); empty is None."""
    text = unicodedata.normalize("NFKC", value or "").strip().lower()
    if not text:
        return None
    aliases = {"男": "男", "m": "男", "male": "男", "女": "女", "f": "女", "female": "女"}
    if text not in aliases:
        raise ValueError(_("性别应填写“男”或“女”"))
    return aliases[text]


def check_id_number(value: str | None) -> str | None:
    """A resident identity card number (GB 11643-1999: 18 characters, the last a check digit
    computed with ISO 7064 MOD 11-2); empty is None."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", value or "")).upper()
    if not text:
        return None
    if not ID_NUMBER.fullmatch(text):
        raise ValueError(_("身份证号应为 18 位（最后一位可以是 X）"))
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError(_("身份证号中的出生日期不存在")) from None
    total = sum(int(digit) * weight for digit, weight in zip(text[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != text[17]:
        raise ValueError(_("身份证号校验位不正确，请核对"))
    return text
