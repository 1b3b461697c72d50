"""The OpenAPI 3.1 document of a design, as plain data (dumped as sorted JSON)."""

from __future__ import annotations

import json
from typing import Any

from . import ir


def schema(a: ir.Attr) -> dict[str, Any]:
    s = _type_schema(a.type)
    if a.enum is not None:
        s["enum"] = list(a.enum)
    if a.pattern is not None:
        s["pattern"] = a.pattern
    if a.minimum is not None:
        s["minimum"] = a.minimum
    if a.maximum is not None:
        s["maximum"] = a.maximum
    if a.has_const:
        s["const"] = a.const
    if a.has_default:
        s["default"] = a.default
    if a.doc:
        s["description"] = a.doc
    if a.has_example:
        s["examples"] = [a.example]
    if a.nullable:
        s = {"anyOf": [s, {"type": "null"}]}
    return s


def _type_schema(t: ir.TypeRef) -> dict[str, Any]:
    if t.kind == "object":
        return {"$ref": f"#/components/schemas/{t.object}"}
    if t.kind == "list":
        assert t.item is not None
        return {"type": "array", "items": _type_schema(t.item)}
    if t.kind == "int64":
        return {"type": "integer", "format": "int64"}
    if t.kind == "float64":
        return {"type": "number", "format": "double"}
    return {"type": {"string": "string", "bool": "boolean"}[t.kind]}


def _param(a: ir.Attr) -> dict[str, Any]:
    p: dict[str, Any] = {
        "name": a.name,
        "in": a.location if a.location in ("path", "query") else "header",
        "required": a.required,
        "schema": schema(a),
    }
    if a.doc:
        p["description"] = a.doc
    if a.has_example:
        p["example"] = a.example
    return p


def _header(a: ir.Attr, required: bool) -> dict[str, Any]:
    h: dict[str, Any] = {"schema": schema(a), "required": required}
    if a.doc:
        h["description"] = a.doc
    return h


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "The error's name in snake_case."},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Every invalid request value (400 only).",
            "items": {
                "type": "object",
                "required": ["in", "name", "message"],
                "properties": {
                    "in": {"type": "string", "enum": ["header", "path", "trailer", "body"]},
                    "name": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {
        "status": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": ERROR_SCHEMA["properties"]["code"],
                "message": {"type": "string"},
                "errors": ERROR_SCHEMA["properties"]["errors"],
            },
        },
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": ERROR_SCHEMA["properties"]["code"],
        "errors": ERROR_SCHEMA["properties"]["errors"],
    },
}

_FORMATS = {
    "tus": ("Error", ERROR_SCHEMA),
    "envelope": ("ErrorEnvelope", ENVELOPE_SCHEMA),
    "problem": ("Problem", PROBLEM_SCHEMA),
}


def _error_variant(s: ir.Service, e: ir.Error) -> dict[str, Any]:
    """The body schema of one declared error in the service's error format."""
    name, _ = _FORMATS[s.error_format]
    own: dict[str, Any] = {"properties": {"code": {"const": e.code}}}
    if s.error_format == "envelope":
        own = {"properties": {"error": own}}
    if s.error_format == "problem" and e.problem_type != "about:blank":
        own["properties"]["type"] = {"const": e.problem_type}
    if e.fields:
        own["properties"].update({f.name: schema(f) for f in e.fields})
        required = [f.name for f in e.fields if f.required]
        if required:
            own["required"] = required
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}, own], "title": e.name}


def _object(o: ir.ObjectType) -> dict[str, Any]:
    props = {f.name: schema(f) for f in o.fields}
    s: dict[str, Any] = {"type": "object", "properties": props}
    req = [f.name for f in o.fields if f.required]
    if req:
        s["required"] = req
    if o.doc:
        s["description"] = o.doc
    return s


def document(api: ir.Api) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for s in api.services:
        name, error_schema = _FORMATS[s.error_format]
        schemas[name] = error_schema
        json_media = s.json_media_type
        errors = {e.name: e for e in s.errors}
        for o in s.objects:
            schemas[o.name] = _object(o)
        for m in s.methods:
            path = s.path.rstrip("/") + m.path
            op: dict[str, Any] = {
                "operationId": f"{s.name}.{m.name}",
                "tags": [s.name],
                "summary": m.doc.split(". ")[0] if m.doc else m.name,
            }
            if m.doc:
                op["description"] = m.doc
            params = [_param(a) for a in m.payload]
            if params:
                op["parameters"] = params
            if m.body == "stream":
                media = m.body_media_type or _stream_media_type(m)
                op["requestBody"] = {
                    "required": False,
                    "content": {media: {"schema": {"type": "string", "contentMediaType": media}}},
                }
                if m.trailers:
                    op["requestBody"]["description"] = "Trailers: " + ", ".join(
                        t.name for t in m.trailers
                    )
            elif m.body == "json":
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{m.body_object}"}
                        }
                    },
                }
            responses: dict[str, Any] = {}
            for r in m.results:
                resp: dict[str, Any] = {"description": f"{m.name}: {r.status}"}
                headers = {h.name: _header(h, h.required) for h in r.headers}
                for c in r.const_headers:
                    headers[c.name] = _header(c, True)
                if headers:
                    resp["headers"] = headers
                if r.body == "stream" and m.verb != "HEAD":
                    resp["content"] = {
                        "application/octet-stream": {
                            "schema": {
                                "type": "string",
                                "contentMediaType": "application/octet-stream",
                            }
                        }
                    }
                elif r.body == "json":
                    resp["content"] = {
                        json_media: {"schema": {"$ref": f"#/components/schemas/{r.body_object}"}}
                    }
                responses[str(r.status)] = resp
            by_status: dict[int, list[ir.Error]] = {}
            for name in m.errors:
                by_status.setdefault(errors[name].status, []).append(errors[name])
            if 400 not in by_status and (
                any(not a.on_invalid for a in m.payload) or m.body == "json"
            ):
                by_status[400] = [
                    ir.Error("BadRequest", 400, (), "A request value is invalid.", "bad_request")
                ]
            if m.body == "json" and 415 not in by_status:
                by_status[415] = [
                    ir.Error(
                        "UnsupportedMediaType",
                        415,
                        (),
                        "The body is not application/json.",
                        "unsupported_media_type",
                    )
                ]
            for status, errs in sorted(by_status.items()):
                resp = {
                    "description": "; ".join(
                        f"{e.name}: {e.doc}" if e.doc else e.name for e in errs
                    ),
                }
                headers = {}
                for e in errs:
                    for h in e.headers:
                        headers[h.name] = _header(h, h.required and len(errs) == 1)
                for c in m.const_headers:
                    headers[c.name] = _header(c, True)
                if headers:
                    resp["headers"] = headers
                variants = [_error_variant(s, e) for e in errs]
                if m.verb != "HEAD":
                    error_media = (
                        "application/problem+json" if s.error_format == "problem" else json_media
                    )
                    resp["content"] = {
                        error_media: {
                            "schema": variants[0] if len(variants) == 1 else {"oneOf": variants}
                        }
                    }
                responses[str(status)] = resp
            op["responses"] = responses
            paths.setdefault(path, {})[m.verb.lower()] = op
    info: dict[str, Any] = {"title": api.title or api.name, "version": api.version or "0"}
    if api.doc:
        info["description"] = api.doc
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _stream_media_type(m: ir.Method) -> str:
    for a in m.payload:
        if a.name.lower() == "content-type" and a.enum is not None and len(a.enum) == 1:
            return str(a.enum[0])
    return "application/octet-stream"


def dumps(api: ir.Api) -> str:
    return json.dumps(document(api), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
