"""What generated command-line layers call (`gen/http/<service>/cli.py`): typed flag parsers
that argparse turns into usage errors, request bodies from files, result printing, and
one line per failure with an exit code instead of a traceback.

Exit codes: 0 done, 1 the server refused (a declared error or an unexpected status),
2 usage (argparse's own code), 3 network (refused, reset, timeout), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol, TypeAlias

from pydantic import BaseModel, ValidationError

from .errors import ServiceError, UnexpectedResponse
from .values import int_problem, parse_bool, parse_float, parse_int

if TYPE_CHECKING:
    import httpx

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NETWORK = 3
EXIT_INTERRUPTED = 130

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What `ArgumentParser.add_subparsers()` returns (argparse keeps the class private)."""


class _Closing(Protocol):
    async def aclose(self) -> None: ...


Runner: TypeAlias = Callable[[Any, argparse.Namespace], Awaitable[BaseModel]]
"""A generated `call(client, args)`: builds the payload from the flags and sends it."""


def cli_int(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse `type`: a strict base-10 integer within the design's bounds."""

    def parse(raw: str) -> int:
        value = parse_int(raw)
        if (
            value is None
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise argparse.ArgumentTypeError(int_problem(raw, minimum, maximum))
        return value

    parse.__name__ = "integer"
    return parse


def cli_float(minimum: float | None = None, maximum: float | None = None) -> Callable[[str], float]:
    """An argparse `type`: a finite decimal number within the design's bounds."""

    def parse(raw: str) -> float:
        value = parse_float(raw)
        if value is None:
            raise argparse.ArgumentTypeError(f"must be a number (got {raw!r})")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum} (got {raw})")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum} (got {raw})")
        return value

    parse.__name__ = "number"
    return parse


def cli_bool(raw: str) -> bool:
    """An argparse `type`: `true` or `false` (any case), as the design's headers spell it."""
    value = parse_bool(raw)
    if value is None:
        raise argparse.ArgumentTypeError(f"must be true or false (got {raw!r})")
    return value


def cli_pattern(pattern: str) -> Callable[[str], str]:
    """An argparse `type`: a string matching the design's pattern (its format)."""
    compiled = re.compile(pattern)

    def parse(raw: str) -> str:
        if compiled.search(raw) is None:
            raise argparse.ArgumentTypeError(f"must match {pattern} (got {raw!r})")
        return raw

    parse.__name__ = "string"
    return parse


def cli_json(raw: str) -> Any:
    """An argparse `type`: a JSON value (lists and objects; the model checks its shape)."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be JSON ({exc})") from None


@contextlib.contextmanager
def cli_body(path: str | None) -> Iterator[BinaryIO | None]:
    """A streamed request body: the file at `path`, standard input for `-`, none for None.
    The file is read in chunks while it is sent, never whole."""
    if path is None:
        yield None
    elif path == "-":
        yield sys.stdin.buffer
    else:
        with open(path, "rb") as f:
            yield f


def result_json(result: BaseModel) -> dict[str, Any]:
    """A result's fields (JSON bodies by alias) without the streamed body or empty values."""
    data: dict[str, Any] = {}
    for name in type(result).model_fields:
        value = getattr(result, name)
        if value is None or isinstance(value, AsyncIterator):
            continue
        data[name] = (
            value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value
        )
    return data


async def write_result(
    result: BaseModel, output: str | None, stdout: IO[str], stdout_bytes: BinaryIO
) -> None:
    """Print the result as one JSON line; a streamed body goes to `output` (`-`: standard
    output, the JSON line then going to standard error)."""
    body = getattr(result, "body", None)
    line = json.dumps(result_json(result), sort_keys=True)
    if not isinstance(body, AsyncIterator):
        print(line, file=stdout)
        return
    if output is None or output == "-":
        print(line, file=sys.stderr)
        async for chunk in body:
            stdout_bytes.write(chunk)
        stdout_bytes.flush()
        return
    print(line, file=stdout)
    with open(output, "wb") as f:
        async for chunk in body:
            f.write(chunk)


def failure(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one line to print for an expected failure, else None."""
    import httpx  # the client side only

    if isinstance(exc, ServiceError):
        why = exc.message or " ".join((type(exc).__doc__ or "").split())
        return EXIT_REFUSED, f"HTTP {exc.status} {exc.code}: {why}".rstrip(": ")
    if isinstance(exc, UnexpectedResponse):
        text = exc.body[:200].decode("utf-8", "replace").strip()
        return EXIT_REFUSED, f"HTTP {exc.status}: unexpected answer {text!r}"
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return EXIT_USAGE, f"invalid value: {problems}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return EXIT_USAGE, f"bad URL: {exc}"
    if isinstance(exc, httpx.TransportError):
        where = ""
        with contextlib.suppress(RuntimeError):
            where = f" ({exc.request.url})"
        return EXIT_NETWORK, f"network error{where}: {exc or type(exc).__name__}"
    if isinstance(exc, OSError):
        return EXIT_USAGE, str(exc)
    return None


async def run_command(
    client: _Closing,
    call: Runner,
    args: argparse.Namespace,
    *,
    stdout: IO[str] | None = None,
    stdout_bytes: BinaryIO | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run one parsed command and print its result; failures are one line on stderr."""
    err = stderr or sys.stderr
    try:
        result = await call(client, args)
        await write_result(
            result,
            getattr(args, "output", None),
            stdout or sys.stdout,
            stdout_bytes or sys.stdout.buffer,
        )
    except Exception as exc:
        known = failure(exc)
        if known is None:
            raise
        print(f"error: {known[1]}", file=err)
        return known[0]
    finally:
        await client.aclose()
    return EXIT_OK


def cli_main(
    parser: argparse.ArgumentParser,
    make_client: Callable[[str, httpx.AsyncClient | None], _Closing],
    call: Runner,
    argv: Sequence[str] | None = None,
) -> int:
    """A generated module's `main`: parse, connect to `--url`, run, exit code."""
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run_command(make_client(args.url, None), call, args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
