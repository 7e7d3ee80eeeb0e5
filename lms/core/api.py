"""The JSON API's plumbing: one decorator declares a route, validates its input with pydantic,
and records it for the OpenAPI document, so the document is generated from the code itself.

Errors always have the form ``{"error": {"code", "message", "fields"?}}`` (API.md).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lms.core.models import MAX_ID
from lms.core.text import control_character_paths

API_PREFIX = "/api/v1"


class Schema(BaseModel):
    """Base of every request model: unknown fields are refused. Strings are kept as sent
    (passwords may have spaces); operations normalise what they store."""

    model_config = ConfigDict(extra="forbid")


Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Page(BaseModel):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


@dataclass
class Route:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    auth: bool
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    multipart: dict[str, str] = field(default_factory=dict)
    raw: str | None = None
    responses: dict[int, Any] = field(default_factory=dict)
    content: str | None = None
    optional_auth: bool = False
    params: dict[str, str] = field(default_factory=dict)
    json_body_schema: dict[str, Any] | None = None


ROUTES: list[Route] = []


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_response(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> Response:
    payload: dict[str, Any] = {"code": code, "message": message}
    if fields:
        payload["fields"] = fields
    response = jsonify(error=payload)
    response.status_code = status
    return response


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("找不到该内容"))


def endpoint(
    blueprint: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    multipart: dict[str, str] | None = None,
    raw: str | None = None,
    responses: dict[int, Any] | None = None,
    content: str | None = None,
    optional_auth: bool = False,
    params: dict[str, str] | None = None,
    json_body_schema: dict[str, Any] | None = None,
) -> Callable:
    """Declare an API route. The view receives ``body=`` and/or ``query=`` as parsed models.

    For the OpenAPI document only: ``raw`` is the media type of a request body the view reads
    itself; ``json_body_schema`` the JSON schema of a JSON body the view reads with
    ``json_body()``; ``content`` the media type of a success answer that is not a JSON model (a
    file); ``responses`` other statuses the view answers, each with a model, a JSON schema or
    ``None`` (no body) — at ``status`` itself, an alternative shape of the success answer;
    ``optional_auth`` a route open to all that answers the signed-in caller more (its owner);
    ``params`` query parameters the view reads itself, by name and description. Error statuses
    (the ``Error`` schema) are documented from what the decorator and the plumbing can answer.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def run(**kwargs: Any) -> Any:
            if auth and not current_user.is_authenticated:
                raise unauthorised()
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict())
            if body is not None:
                kwargs["body"] = parse(body, json_body())
            return view(**kwargs)

        blueprint.add_url_rule(rule, view.__name__, run, methods=[method])
        ROUTES.append(
            Route(
                rule=API_PREFIX + rule,
                method=method.lower(),
                endpoint=f"{blueprint.name}.{view.__name__}",
                summary=summary,
                tag=blueprint.name,
                auth=auth,
                body=body,
                query=query,
                response=response,
                status=status,
                multipart=multipart or {},
                raw=raw,
                responses=responses or {},
                content=content,
                optional_auth=optional_auth,
                params=params or {},
                json_body_schema=json_body_schema,
            )
        )
        return run

    return decorate


def unauthorised() -> ApiError:
    from flask import g

    message = g.get("token_problem") or _("请先登录")
    return ApiError(401, "unauthorized", message)


# Every JSON body the API takes is small and shallow; a larger or deeper one is refused before
# it is parsed (a 2 KB body of nested brackets would otherwise exhaust the parser's recursion).
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_body(max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON body: 415 unless declared JSON, 413 when over *max_bytes* (1 MiB
    unless an endpoint needs more), 400 when it is not JSON or nests deeper than 32 levels."""
    if not request.is_json:
        raise ApiError(
            415, "unsupported_media_type", _("请以 JSON 格式提交（Content-Type: application/json）")
        )
    if (request.content_length or 0) > max_bytes:
        raise ApiError(413, "too_large", _("提交的内容太大"))
    data = request.get_data(cache=True)
    if len(data) > max_bytes:
        raise ApiError(413, "too_large", _("提交的内容太大"))
    if json_depth(data) > MAX_JSON_DEPTH:
        raise ApiError(400, "malformed_json", _("请求内容嵌套层数过多"))
    try:
        parsed = json.loads(data or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ApiError(400, "malformed_json", _("请求内容不是有效的 JSON")) from error
    refuse_control_characters(parsed)
    return parsed


def multipart_form():
    """The request's multipart fields (``request.form``), once its text and its files' names
    are known to hold no control character (else 422). Call it after setting any larger
    ``request.max_content_length`` for the request."""
    fields = {key: request.form.getlist(key) for key in request.form}
    fields.update(
        {
            f"{key}.filename": [item.filename or "" for item in request.files.getlist(key)]
            for key in request.files
        }
    )
    refuse_control_characters(fields)
    return request.form


def refuse_control_characters(data: Any) -> None:
    """422 when any string of *data* holds a control character (nothing such is ever stored)."""
    paths = control_character_paths(data)
    if paths:
        message = _("内容包含不允许的控制字符")
        raise ApiError(422, "validation_error", message, {path: [message] for path in paths})


def json_depth(data: bytes) -> int:
    """How deeply *data*'s arrays and objects nest (brackets inside strings do not count)."""
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse(model: type[BaseModel], data: Any) -> BaseModel:
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", _("请求内容应为 JSON 对象"))
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(
            422, "validation_error", _("提交的内容有误，请检查后重试"), validation_fields(error)
        ) from None


def validation_fields(error: ValidationError) -> dict[str, list[str]]:
    """pydantic's errors as Chinese messages keyed by field name."""
    fields: dict[str, list[str]] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(name, []).append(_message(item))
    return fields


def _message(item: dict[str, Any]) -> str:
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind == "missing":
        return _("此项必填")
    if kind == "extra_forbidden":
        return _("不支持此字段")
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind == "string_too_short":
        return (
            _("不能为空")
            if ctx.get("min_length") == 1
            else _("至少 %(n)s 个字符", n=ctx.get("min_length"))
        )
    if kind == "string_too_long":
        return _("不能超过 %(n)s 个字符", n=ctx.get("max_length"))
    if kind in ("greater_than_equal", "greater_than"):
        return _("不能小于 %(n)s", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("不能大于 %(n)s", n=ctx.get("le", ctx.get("lt")))
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("请填写整数")
    if kind in ("decimal_parsing", "float_parsing", "decimal_type", "float_type", "finite_number"):
        return _("请填写数字")
    if kind in ("decimal_max_places", "decimal_max_digits", "decimal_whole_digits"):
        return _("数字位数过多")
    if kind == "literal_error" or kind == "enum":
        return _("取值无效")
    return _("格式不正确")
