"""One template section at a time, on a three-line design."""

from __future__ import annotations

import ast

import pytest

from tusgen import ir, views
from tusgen.dsl import API, Header, Int64
from tusgen.render import RenderError, environment, format_python


def one_method() -> views.ServiceView:
    api = API("t")
    with api.service("svc", path="/x") as svc, svc.method("get", http="GET /") as m:
        m.payload(Header("X-N", Int64, minimum=1, maximum=9).required())
        m.result(200, Header("X-Out", Int64).required())
    model = ir.build(api)
    return views.service_view(model, model.services[0])


def section(name: str) -> str:
    svc = one_method()
    template = environment().get_template("server.py.j2")
    module = template.make_module({"header": "", "svc": svc})
    return str(getattr(module, name)(svc.methods[0]))


def test_decode_request_section_checks_int_bounds_in_straight_line() -> None:
    code = section("decode_request")
    ast.parse(code)
    assert '_raw = _h.get("x-n")' in code
    assert "(x_n := rt.parse_int(_raw)) is None or x_n < 1 or x_n > 9" in code
    assert '"must be an integer between 1 and 9"' in code
    assert "GetPayload.model_construct(x_n=x_n)" in code


def test_encode_response_section_writes_declared_headers() -> None:
    code = section("encode_response")
    assert '_headers["X-Out"] = str(result.x_out)' in code
    assert "return Response(status_code=200, headers=_headers)" in code


def test_encode_error_section_uses_the_method_constants() -> None:
    assert "rt.error_response(exc, _GET_CONST)" in section("encode_error")


def test_invalid_python_is_reported_with_numbered_source() -> None:
    with pytest.raises(RenderError) as info:
        format_python("def f(:\n    pass\n", "gen/x.py")
    assert "gen/x.py:1" in str(info.value) and "    1  def f(:" in str(info.value)
