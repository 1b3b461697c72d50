"""Each DSL feature on a tiny inline design: declarations, refinements, the frozen IR."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from tusgen import ir
from tusgen.dsl import API, STREAM, Bool, Field, Header, Int64, ListOf, Object, Param, String
from tusgen.validate import validate


def line() -> int:
    return sys._getframe(1).f_lineno


def test_header_is_immutable_and_refinements_copy() -> None:
    h = Header("Upload-Offset", Int64, minimum=0, doc="Offset.", example=0)
    r = h.required()
    assert h.is_required is None and r.is_required is True
    assert r.optional().is_required is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.name = "x"  # type: ignore[misc]
    assert h.enum(1, 2).enum_values == (1, 2)
    assert h.on_invalid("Bad").invalid_error == "Bad"
    assert h.const(3).const_value == 3
    assert h.default(4).default_value == 4
    assert h.named("offset").field_name == "offset"


def test_refinements_record_their_line() -> None:
    h = Header("X-A", String)
    declared = line() - 1
    r = h.required()
    refined = line() - 1
    assert h.loc.line == declared and h.loc.file.endswith("test_dsl.py")
    assert r.where("required").line == refined
    assert str(r.where("required")).endswith(f"test_dsl.py:{refined}")


def tiny() -> API:
    api = API("t", title="T", version="1")
    with api.service("svc", path="/base") as svc:
        svc.error("Bad", 400)
        with svc.method("get", http="GET /{id}") as m:
            m.payload(Param("id", String), Header("X-N", Int64, minimum=1).required())
            m.result(200, Header("X-B", Bool), body=STREAM)
    return api


def test_nothing_is_registered_globally() -> None:
    a, b = tiny(), tiny()
    assert a is not b and a.services[0] is not b.services[0]
    assert validate(a) == [] and validate(b) == []


def test_ir_derives_field_names_types_and_required() -> None:
    model = ir.build(tiny())
    m = model.services[0].methods[0]
    assert (m.verb, m.path) == ("GET", "/{id}")
    assert [(a.field, a.location, a.type.kind, a.required) for a in m.payload] == [
        ("id", "path", "string", True),
        ("x_n", "header", "int64", True),
    ]
    assert m.results[0].body == "stream"
    assert m.errors == ("Bad",)


def test_named_const_and_service_headers() -> None:
    api = API("t")
    with api.service("svc") as svc:
        svc.response_header(Header("X-V", String).const("1"), skip=["b"])
        with svc.method("a", http="GET /a") as m:
            m.payload(Header("ETag", String).named("tag"))
            m.result(200, Header("Cache-Control", String).const("no-store"))
        with svc.method("b", http="GET /b") as m:
            m.result(204)
    assert validate(api) == []
    a, b = ir.build(api).services[0].methods
    assert a.payload[0].field == "tag"
    assert [h.name for h in a.results[0].const_headers] == ["X-V", "Cache-Control"]
    assert a.results[0].headers == ()
    assert b.const_headers == ()


def test_json_objects_lists_and_several_statuses() -> None:
    item = Object("Item", Field("name", String), Field("tags", ListOf(String), required=False))
    api = API("t")
    with api.service("svc") as svc, svc.method("make", http="POST /") as m:
        m.body(item)
        m.result(201, body=item)
        m.result(200, Header("X-Old", String).required())
    assert validate(api) == []
    s = ir.build(api).services[0]
    assert [o.name for o in s.objects] == ["Item"]
    assert s.objects[0].fields[1].type == ir.TypeRef("list", item=ir.TypeRef("string"))
    assert [r.status for r in s.methods[0].results] == [201, 200]


def test_cors_and_method_override_are_recorded() -> None:
    api = API("t")
    api.cors(origins=["*"], methods=["GET"], allow_headers=["X"], max_age=5)
    with api.service("svc") as svc:
        svc.method_override("X-HTTP-Method-Override")
        with svc.method("a", http="GET /") as m:
            m.result(200)
    model = ir.build(api)
    assert model.cors is not None and model.cors.max_age == 5
    assert model.services[0].method_override == "X-HTTP-Method-Override"


def test_real_design_is_valid() -> None:
    from tuskit.design import build

    assert validate(build()) == []


def test_query_float_nullable_and_error_members_reach_the_ir() -> None:
    from tusgen import ir
    from tusgen.dsl import API, Field, Float64, Int64, ListOf, Query

    api = API("t")
    with api.service("s") as svc:
        svc.error_format("problem")
        svc.json("application/json; charset=utf-8", compress=("gzip",), threshold=100)
        svc.error(
            "Mismatch",
            409,
            code="mismatching_offset",
            problem_type="https://example.test/p",
            fields=[Field("expected-offset", Int64), Field("missingChunks", ListOf(Int64))],
        )
        with svc.method("a", http="GET /a") as m:
            m.payload(Query("limit", Int64, default=100), Query("wait", Float64, minimum=0))
            m.result(200)
    s = ir.build(api).services[0]
    assert (s.error_format, s.json_media_type, s.compress, s.threshold) == (
        "problem",
        "application/json; charset=utf-8",
        ("gzip",),
        100,
    )
    e = s.errors[0]
    assert (e.code, e.problem_type) == ("mismatching_offset", "https://example.test/p")
    assert [(f.name, f.field) for f in e.fields] == [
        ("expected-offset", "expected_offset"),
        ("missingChunks", "missing_chunks"),
    ]
    limit, wait = s.methods[0].payload
    assert (limit.location, limit.required, limit.default) == ("query", False, 100)
    assert (wait.type.kind, wait.minimum) == ("float64", 0)
    plain = API("u")
    with plain.service("s") as svc:
        svc.error("NotFound", 404)
    assert ir.build(plain).services[0].errors[0].code == "not_found"
