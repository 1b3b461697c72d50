"""Each design mistake is collected with its message and the design's file:line."""

from __future__ import annotations

import sys

import pytest

from tusgen.dsl import API, STREAM, Header, Int64, Object, Param, String
from tusgen.render import generate
from tusgen.validate import DesignError, validate


def here() -> int:
    return sys._getframe(1).f_lineno


def messages(api: API) -> list[str]:
    return [str(p) for p in validate(api)]


def only(api: API) -> str:
    found = messages(api)
    assert len(found) == 1, found
    return found[0]


def at(line: int, text: str, message: str) -> None:
    assert message.split(": ", 1)[0].endswith(f"test_validate.py:{line}"), message
    assert text in message, message


def test_duplicate_service_method_and_error_names() -> None:
    api = API("t")
    with api.service("s") as svc:
        svc.error("Bad", 400)
        svc.error("Bad", 400)
        l_err = here() - 1
        with svc.method("a", http="GET /a") as m:
            m.result(200)
        with svc.method("a", http="GET /b") as m:
            m.result(200)
        l_method = here() - 2
    with api.service("s") as svc2:
        l_svc = here() - 1
        with svc2.method("x", http="GET /") as m:
            m.result(200)
    found = messages(api)
    assert len(found) == 3, found
    at(l_err, "error Bad declared twice", found[0])
    at(l_method, "method a declared twice", found[1])
    at(l_svc, "service s declared twice", found[2])


def test_duplicate_header_in_payload() -> None:
    api = API("t")
    with api.service("s") as svc, svc.method("a", http="GET /") as m:
        m.payload(Header("X-A", String), Header("x-a", String))
        line = here() - 1
        m.result(200)
    at(line, "header x-a declared twice", only(api))


def test_path_param_used_but_not_declared_and_declared_but_unused() -> None:
    api = API("t")
    with api.service("s") as svc:
        with svc.method("a", http="GET /{id}") as m:
            l_a = here() - 1
            m.result(200)
        with svc.method("b", http="GET /b") as m:
            m.payload(Param("id", String))
            l_b = here() - 1
            m.result(200)
    first, second = messages(api)
    at(l_a, "path param {id} is not declared in the payload", first)
    at(l_b, "path param id is not in '/b'", second)


def test_unknown_error_in_on_invalid_points_at_the_refinement() -> None:
    api = API("t")
    h = Header("X-A", String)
    with api.service("s") as svc, svc.method("a", http="GET /") as m:
        m.payload(h.on_invalid("Nope"))
        line = here() - 1
        m.result(200)
    at(line, "on_invalid names unknown error 'Nope'", only(api))


def test_on_invalid_error_with_required_header_needs_a_default() -> None:
    api = API("t")
    with api.service("s") as svc:
        svc.error("Old", 412, headers=[Header("X-V", String).required()])
        with svc.method("a", http="GET /") as m:
            m.payload(Header("X-A", String).on_invalid("Old"))
            line = here() - 1
            m.result(200)
    at(line, "needs header X-V, which has no .default(...)", only(api))


def test_conflicting_statuses_for_one_error_name() -> None:
    api = API("t")
    with api.service("s") as svc:
        with svc.method("a", http="GET /a") as m:
            m.result(200)
            m.error("Big", 413)
        with svc.method("b", http="GET /b") as m:
            m.result(200)
            m.error("Big", 400)
            line = here() - 1
    at(line, "error Big conflicts with its declaration", only(api))


def test_values_that_do_not_match_the_type() -> None:
    api = API("t")
    bad_enum = Header("X-E", Int64).enum("one")
    l_enum = here() - 1
    bad_example = Header("X-X", Int64, minimum=5, example=1)
    l_example = here() - 1
    with api.service("s") as svc:
        svc.response_header(Header("X-C", Int64).const("x"))
        l_const = here() - 1
        with svc.method("a", http="GET /") as m:
            m.payload(bad_enum, bad_example)
            m.result(200)
    found = messages(api)
    assert len(found) == 3, found
    at(l_enum, "enum value 'one' is not a Int64 value", found[1])
    at(l_example, "example 1 is below the minimum 5", found[2])
    at(l_const, "const 'x' is not a Int64 value", found[0])


def test_bad_status_numbers() -> None:
    api = API("t")
    with api.service("s") as svc:
        svc.error("Odd", 200)
        l_err = here() - 1
        with svc.method("a", http="GET /") as m:
            m.result(404)
            l_res = here() - 1
    first, second = messages(api)
    at(l_err, "has status 200, not 400-599", first)
    at(l_res, "result status 404 must be 200-399", second)


def test_two_methods_with_the_same_verb_and_path() -> None:
    api = API("t")
    with api.service("s") as svc:
        with svc.method("a", http="GET /{id}") as m:
            m.payload(Param("id", String))
            m.result(200)
        with svc.method("b", http="GET /{key}") as m:
            line = here() - 1
            m.payload(Param("key", String))
            m.result(200)
    at(line, "GET /{key} is already method a", only(api))


def test_method_override_declared_twice() -> None:
    api = API("t")
    with api.service("s") as svc:
        svc.method_override("X-HTTP-Method-Override")
        svc.method_override("X-Method")
        line = here() - 1
        with svc.method("a", http="GET /") as m:
            m.result(200)
    at(line, "method_override declared twice", only(api))


def test_misc_shapes() -> None:
    api = API("t")
    with api.service("s") as svc:
        with svc.method("a", http="FETCH /") as m:
            l_verb = here() - 1
            m.result(200)
        with svc.method("b", http="HEAD /b") as m:
            m.result(200, body=STREAM)
            l_head = here() - 1
        with svc.method("c", http="POST /c") as m:
            m.body(Object("Thing"), trailers=[Header("X-T", String)])
            l_trailers = here() - 1
            m.result(201)
        with svc.method("d", http="GET /d") as m:
            l_noresult = here() - 1
    found = messages(api)
    assert len(found) == 4, found
    at(l_verb, "must be 'VERB /path' with a known verb", found[0])
    at(l_head, "HEAD responses carry no body", found[1])
    at(l_trailers, "trailers need a STREAM body", found[2])
    at(l_noresult, "declares no result", found[3])


def test_generate_reports_every_problem_at_once(tmp_path: object) -> None:
    api = API("t")
    with api.service("s") as svc, svc.method("a", http="GET /{x}") as m:
        m.result(99)
    with pytest.raises(DesignError) as info:
        generate(api, str(tmp_path))
    assert len(info.value.problems) == 2
    assert "path param {x}" in str(info.value) and "result status 99" in str(info.value)


def test_service_formats_json_and_error_members_are_checked() -> None:
    from tusgen.dsl import Field, ListOf, Query

    api = API("t")
    with api.service("s") as svc:
        svc.error_format("xml")
        l_format = here() - 1
        svc.json("json", compress=("br",), threshold=-1)
        l_json = here() - 1
        svc.error("Bad", 400, fields=[Field("message", String)], code="")
        l_error = here() - 1
        with svc.method("a", http="GET /a") as m:
            m.payload(Query("bad name", Int64), Query("n", Int64, minimum=0.5))
            l_query = here() - 1
            m.result(200)
    found = messages(api)
    expected = [
        (l_format, "error_format 'xml' must be one of tus, envelope, problem"),
        (l_json, "media_type 'json' is not a media type"),
        (l_json, "unknown coding 'br'"),
        (l_json, "threshold -1 must be an int >= 0"),
        (l_error, "field name 'message' is taken"),
        (l_error, "body member 'message' is reserved"),
        (l_error, "code must be a non-empty string"),
        (l_query, "query param 'bad name' must be letters"),
        (l_query, "n: minimum needs an Int64 and an int bound"),
    ]
    for line, text in expected:
        at(line, text, next((f for f in found if text in f), f"missing: {text}"))
    assert len(found) == 9, found
    ok = API("t")
    with ok.service("s") as svc:
        svc.error("Missing", 409, fields=[Field("missingChunks", ListOf(Int64))])
        with svc.method("a", http="GET /a") as m:
            m.payload(Query("wait", Int64, default=3))
            m.result(200)
    assert messages(ok) == []
