"""The generated command-line layer (`http/<service>/cli.py`) of the tiny fixture design:
typed flags from the payload, checks as usage errors, help from the design's docs, the
call it turns into, and one line plus an exit code for each failure."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import fixture_command, generate_package, load_fixture
from test_render import section

from tusgen import ir, runtime, views


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    parent = tmp_path_factory.mktemp("cli")
    generate_package(load_fixture("tiny").build(), parent, "gen_tiny_cli", fixture_command("tiny"))
    return importlib.import_module("gen_tiny_cli.http.items.cli")


def parse(cli: ModuleType, *argv: str) -> argparse.Namespace:
    ns: argparse.Namespace = cli.build_parser("items").parse_args([*argv, "--url", "http://x"])
    return ns


def usage_error(cli: ModuleType, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        parse(cli, *argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_flags_are_typed_from_the_payload(cli: ModuleType) -> None:
    ns = parse(cli, "show", "--id", "7", "--x-mode", "fast", "--x-flag", "TRUE", "--x-token", "abc")
    assert (ns.method, ns.id, ns.x_mode, ns.x_flag, ns.x_token) == ("show", 7, "fast", True, "abc")
    ns = parse(cli, "show", "--id", "7", "--x-mode", "safe")
    assert ns.x_flag is None and ns.x_token is None  # optional headers stay unset


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "--id", "0", "--x-mode", "fast"], "--id: must be an integer >= 1"),
        (["show", "--id", "07", "--x-mode", "fast"], "without leading zeros"),
        (["show", "--id", "7", "--x-mode", "slow"], "invalid choice: 'slow'"),
        (["show", "--id", "7", "--x-mode", "fast", "--x-flag", "yes"], "must be true or false"),
        (["show", "--id", "7", "--x-mode", "fast", "--x-token", "ABCD"], "must match ^[a-z]{3}$"),
        (["show", "--id", "7"], "the following arguments are required: --x-mode"),
        (["upload", "--id", "1", "--expected", "1001"], "must be an integer between 0 and 1000"),
        (["make", "--name", "n", "--tags", "[1,"], "--tags: must be JSON"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_invalid_values_are_usage_errors(
    cli: ModuleType, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert message in usage_error(cli, capsys, *argv)


def test_help_comes_from_the_design(cli: ModuleType) -> None:
    parser = cli.build_parser("items")
    top = parser.format_help()
    assert "Items, fetched and stored." in top and "Fetch an item's counters." in top
    sub = parser._subparsers._group_actions[0].choices["show"].format_help()
    assert "(GET /items/{id})" in sub
    assert "X-Token header: Three letters." in sub and "{fast,safe}" in sub
    assert cli.SERVICE_PATH == "/items"


class Recorder:
    """Stands in for the generated client: records what `call` sends."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []

    async def make(self, payload: Any, body: Any) -> Any:
        self.calls.append(("make", payload, body))
        return body

    async def upload(self, payload: Any, body: Any) -> Any:
        self.calls.append(("upload", payload, body.read()))
        return payload


def test_call_builds_payload_and_json_body(cli: ModuleType) -> None:
    client = Recorder()
    ns = parse(cli, "make", "--name", "box", "--tags", '["a","b"]', "--size", "3")
    asyncio.run(cli.call(client, ns))
    ((_, _, body),) = client.calls
    assert body.model_dump(exclude_none=True) == {"name": "box", "tags": ["a", "b"], "size": 3}


def test_call_streams_a_body_file(cli: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "b.bin").write_bytes(b"bytes!")
    client = Recorder()
    ns = parse(cli, "upload", "--id", "4", "--expected", "6", "--body", str(tmp_path / "b.bin"))
    asyncio.run(cli.call(client, ns))
    ((_, payload, sent),) = client.calls
    assert (payload.id, payload.expected, sent) == (4, 6, b"bytes!")


def run_against(cli: ModuleType, handler: Any, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    transport = httpx.MockTransport(handler)
    client = cli.connect("http://127.0.0.1:1", httpx.AsyncClient(transport=transport))
    code = asyncio.run(
        runtime.run_command(client, cli.call, parse(cli, *argv), stdout=out, stderr=err)
    )
    return code, out.getvalue(), err.getvalue()


def test_result_is_one_json_line(cli: ModuleType) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/items/7" and request.headers["x-mode"] == "fast"
        return httpx.Response(200, headers={"X-Count": "5", "X-Served-By": "tiny"})

    code, out, err = run_against(cli, handler, "show", "--id", "7", "--x-mode", "fast")
    assert (code, out, err) == (0, '{"x_count": 5}\n', "")


def test_declared_error_is_one_line_and_exit_1(cli: ModuleType) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(418, json={"code": "teapot", "message": "short and stout"})

    code, out, err = run_against(cli, handler, "show", "--id", "7", "--x-mode", "fast")
    assert (code, out) == (1, "")
    assert err == "error: HTTP 418 teapot: short and stout\n"


def test_network_error_is_one_line_and_exit_3(cli: ModuleType) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    code, _, err = run_against(cli, handler, "show", "--id", "7", "--x-mode", "fast")
    assert code == 3 and err.count("\n") == 1 and "connection refused" in err


def test_flag_section_turns_checks_into_a_parser() -> None:
    api = ir.build(load_fixture("tiny").build())
    service = api.services[0]
    view = views.cli_view(service, views.service_view(api, service))
    upload = next(m for m in view.methods if m.name == "upload")
    code = section("cli", "flag", upload.flags[1])
    assert '"--expected"' in code and "type=rt.cli_int(0, 1000)" in code
    assert 'dest="expected"' in code and "default=None" in code
