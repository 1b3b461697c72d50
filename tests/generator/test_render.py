"""One template section at a time, on a three-line design."""

from __future__ import annotations

import ast
from typing import Any

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


def section(template: str, name: str, *args: Any) -> str:
    """Call one macro (a named section) of a section template."""
    module = environment().get_template(f"sections/{template}.j2").make_module({})
    return str(getattr(module, name)(*args))


def test_decode_request_section_checks_int_bounds_in_straight_line() -> None:
    code = section("decode", "decode_request", one_method().methods[0].decode)
    ast.parse(code)
    assert 'if _k == b"x-n":' in code  # one pass over the ASGI headers
    assert '_raw = None if _b_x_n is None else _b_x_n.decode("latin-1")' in code
    assert "(x_n := rt.parse_int(_raw)) is None or x_n < 1 or x_n > 9" in code
    assert "rt.int_problem(_raw, 1, 9)" in code  # says what is wrong, only on failure
    assert 'rt.construct(GetPayload, {"x_n": x_n})' in code


def test_encode_response_section_writes_declared_headers() -> None:
    code = section("encode", "encode_response", one_method().methods[0].encode)
    ast.parse(code)
    assert '_headers.append((b"x-out", str(result.x_out).encode("latin-1")))' in code
    assert '"type": "http.response.start", "status": 200, "headers": _headers' in code


def test_encode_error_section_uses_the_method_constants() -> None:
    code = section("encode", "encode_error", one_method().methods[0].encode)
    assert "await _RESPONSES.send_error(send, exc, _GET_CONST, scope)" in code


def test_route_section_is_an_asgi_endpoint() -> None:
    code = section("route", "endpoint", one_method().methods[0])
    ast.parse(code)
    assert "payload = decode_get(scope)" in code and "await encode_get(result, send)" in code


def test_client_section_sends_declared_headers() -> None:
    code = section("client", "client_method", one_method().methods[0].client)
    assert '_headers["X-N"] = str(payload.x_n)' in code


def test_view_models_carry_data_not_code() -> None:
    """The decoder's view holds names, bounds and messages; the template writes the code."""
    value = one_method().methods[0].decode.values[0]
    assert (value.name, value.field, value.key, value.where) == ("X-N", "x_n", b"x-n", "header")
    check = value.checks[0]
    assert (check.kind, check.minimum, check.maximum) == ("parse", 1, 9)


def test_invalid_python_is_reported_with_numbered_source() -> None:
    with pytest.raises(RenderError) as info:
        format_python("def f(:\n    pass\n", "gen/x.py")
    assert "gen/x.py:1" in str(info.value) and "    1  def f(:" in str(info.value)
