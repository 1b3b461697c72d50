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
    assert 'if _k == b"x-n":' in code  # one pass over the ASGI headers
    assert '_raw = None if _b_x_n is None else _b_x_n.decode("latin-1")' in code
    assert "(x_n := rt.parse_int(_raw)) is None or x_n < 1 or x_n > 9" in code
    assert '"must be an integer between 1 and 9"' in code
    assert 'rt.construct(GetPayload, {"x_n": x_n})' in code


def test_encode_response_section_writes_declared_headers() -> None:
    code = section("encode_response")
    assert '_headers.append((b"x-out", str(result.x_out).encode("latin-1")))' in code
    assert '"type": "http.response.start", "status": 200, "headers": _headers' in code


def test_encode_error_section_uses_the_method_constants() -> None:
    assert "await rt.send_error(send, exc, _GET_CONST, head)" in section("encode_error")


def test_invalid_python_is_reported_with_numbered_source() -> None:
    with pytest.raises(RenderError) as info:
        format_python("def f(:\n    pass\n", "gen/x.py")
    assert "gen/x.py:1" in str(info.value) and "    1  def f(:" in str(info.value)
