"""The OpenAPI 3.1 document of the JSON API, generated from the routes declared with
``lms.core.api.endpoint`` (never written by hand beside the code), and the route serving it."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify
from pydantic import BaseModel

from lms.core.api import API_PREFIX, ROUTES

ERROR_DESCRIPTIONS = {
    "400": "请求格式错误（不是 JSON、嵌套过深、参数格式不对）",
    "401": "未登录或令牌无效",
    "404": "找不到（或无权知道其存在）",
    "413": "提交的内容太大",
    "415": "不支持的内容类型",
    "422": "内容校验未通过（fields 指出哪一项）",
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built from the routes declared with ``endpoint``."""
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def error(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    def shape(spec: Any) -> dict[str, Any] | None:
        if spec is None:
            return None
        if isinstance(spec, type) and issubclass(spec, BaseModel):
            return ref(spec)
        return spec

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        takes_body = bool(
            route.body is not None or route.multipart or route.raw or route.json_body_schema
        )
        errors = {
            # also csrf_failed: a write by session cookie without its CSRF token
            "400": takes_body or (route.auth and route.method != "get"),
            "401": route.auth or route.optional_auth,
            "404": bool(_path_parameters(route.rule)),
            "413": takes_body,
            "415": takes_body,
            "422": takes_body or route.query is not None,  # control characters included
        }
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": route.endpoint.replace(".", "_"),
            "responses": {
                status: error(ERROR_DESCRIPTIONS[status]) for status, can in errors.items() if can
            },
        }
        # Any other 4xx the view raises (403, 409, 429…) has the same error shape.
        operation["responses"]["4XX"] = error("其他错误（API.md 的错误约定）")
        if route.auth:
            operation["security"] = [{"bearer": []}, {"session": []}]
        elif route.optional_auth:
            operation["security"] = [{}, {"bearer": []}, {"session": []}]
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(converter)}
            for converter, name in _path_converters(route.rule)
        ]
        if route.query is not None:
            for name, spec in route.query.model_json_schema().get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": False, "schema": spec})
        for name, description in route.params.items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": description,
                    "schema": {"type": "string"},
                }
            )
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(route.body)}},
            }
        if route.json_body_schema is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": route.json_body_schema}},
            }
        if route.multipart:
            properties = {
                name: {"type": "string", "description": text}
                for name, text in route.multipart.items()
            }
            content = operation.setdefault("requestBody", {"required": True, "content": {}})[
                "content"
            ]
            content["multipart/form-data"] = {
                "schema": {"type": "object", "properties": properties}
            }
        if route.raw:
            operation["requestBody"] = {
                "required": True,
                "content": {route.raw: {"schema": {"type": "string", "format": "binary"}}},
            }
        success: dict[str, Any] = {"description": "成功"}
        schema = shape(route.response)
        alternative = shape(route.responses.get(route.status))
        if schema is not None and alternative is not None:
            schema = {"anyOf": [schema, alternative]}
        if schema is not None:
            success["content"] = {"application/json": {"schema": schema}}
        if route.content is not None:
            binary = {"type": "string", "format": "binary"}
            success["content"] = {
                route.content: {"schema": {} if route.content.endswith("json") else binary}
            }
        operation["responses"][str(route.status)] = success
        for status, spec in route.responses.items():
            if status == route.status:
                continue
            answer: dict[str, Any] = {"description": "成功" if status < 400 else "错误"}
            schema = shape(spec)
            if schema is not None and str(status) in operation["responses"]:
                schema = {"anyOf": [{"$ref": "#/components/schemas/Error"}, schema]}
            if schema is not None:
                answer["content"] = {"application/json": {"schema": schema}}
            operation["responses"][str(status)] = answer
        paths.setdefault(_openapi_path(route.rule), {})[route.method] = operation

    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "泸县城乡居民终身学习网 API", "version": "1"},
        "servers": [{"url": API_PREFIX}],
        "paths": {
            path.removeprefix(API_PREFIX) or "/": spec for path, spec in sorted(paths.items())
        },
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": current_app.config.get("SESSION_COOKIE_NAME", "session"),
                },
            },
        },
    }


def _path_parameters(rule: str) -> list[str]:
    return [match.split(":")[-1] for match in re.findall(r"<([^>]+)>", rule)]


def _path_converters(rule: str) -> list[tuple[str, str]]:
    """(converter, name) of each variable of a Flask rule; a variable without one is a string."""
    return [
        (match[0] or "string", match[1]) for match in re.findall(r"<(?:([^:>]+):)?([^>]+)>", rule)
    ]


def _path_schema(converter: str) -> dict[str, Any]:
    if converter == "int":
        return {"type": "integer", "minimum": 0}
    return {"type": "string"}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


docs = Blueprint("api_docs", __name__, url_prefix=API_PREFIX)


@docs.get("/openapi.json")
def openapi_json():
    return jsonify(openapi_document())
