"""Rules about phones, names and passwords, shared by the web forms and the API schemas so that
each rule is written once. Each raises ``ValueError`` with a message for the user."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources

from flask import current_app
from flask_babel import gettext as _

PHONE = re.compile(r"1[3-9]\d{9}")


def normalize_phone(value: str | None) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix are dropped)."""
    phone = re.sub(r"[\s\-()]", "", value or "")
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
