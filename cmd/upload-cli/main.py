"""`upload-cli`: the command table, the common flags, and the one place that turns a
failure into one line and an exit code (0 ok, 1 refused, 2 usage, 3 network, 130
interrupted)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

import httpx

from . import get, ls, raw, rm, send, sessionsend
from .command import Command, Context
from .exits import INTERRUPTED, describe
from .flags import Parser, common_flags
from .report import Mode, Reporter
from .retry import Backoff
from .state import state_dir

COMMANDS: dict[str, Command] = {
    "send": send.COMMAND,
    "get": get.COMMAND,
    "ls": ls.COMMAND,
    "rm": rm.COMMAND,
    "session-send": sessionsend.COMMAND,
    **{cli.SERVICE_NAME: raw.command(cli) for cli in raw.SERVICES},
}
"""Every sub-command: one module each, plus the generated per-service layers."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="upload-cli",
        description="Send files to an upload server and fetch them back, with progress "
        "and resume. Exit codes: 0 ok, 1 the server refused, 2 usage, 3 network, "
        "130 interrupted.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = common_flags()
    for name, cmd in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=cmd.help,
            description=cmd.description or cmd.help,
            parents=[common] if cmd.common else [],
        )
        cmd.add_arguments(sub)
    return parser


def _mode(args: argparse.Namespace) -> Mode:
    return "json" if args.json else "quiet" if args.quiet else "bar"


async def _run(args: argparse.Namespace, reporter: Reporter) -> int:
    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 10.0))
    backoff = Backoff(attempts=max(1, args.retries))
    hooks = {"response": [backoff.contact.hook]}
    async with httpx.AsyncClient(timeout=timeout, event_hooks=hooks) as http:
        ctx = Context(
            reporter=reporter,
            http=http,
            state_dir=state_dir(args.state_dir),
            backoff=backoff,
        )
        return await COMMANDS[args.command].run(args, ctx)


class _Interrupts:
    """SIGINT for the whole run: the first one cancels the command (which keeps what the
    server has: state is saved as it goes); any further one, or one before the command
    runs, exits at once, even if the cancelled work is stuck cleaning up."""

    def __init__(self) -> None:
        self.seen = 0
        self.cancel: Callable[[], object] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.seen += 1
        if self.seen > 1 or self.cancel is None:
            os.write(2, b"upload-cli: interrupted; run the same command again to resume\n")
            os._exit(INTERRUPTED)
        self.cancel()


async def _interruptible(
    args: argparse.Namespace, reporter: Reporter, interrupts: _Interrupts
) -> int:
    loop = asyncio.get_running_loop()
    command = asyncio.current_task()
    assert command is not None
    interrupts.cancel = lambda: loop.call_soon_threadsafe(command.cancel)
    try:
        return await _run(args, reporter)
    except asyncio.CancelledError:
        if not interrupts.seen:
            raise
        reporter.error("interrupted; run the same command again to resume")
        return INTERRUPTED
    finally:
        interrupts.cancel = None


def main(argv: Sequence[str] | None = None) -> int:
    """The console script (it takes over SIGINT for the process)."""
    args = build_parser().parse_args(argv)
    interrupts = _Interrupts()
    signal.signal(signal.SIGINT, interrupts)
    try:
        with Reporter(_mode(args)) as reporter:
            try:
                return asyncio.run(_interruptible(args, reporter, interrupts))
            except KeyboardInterrupt:
                reporter.error("interrupted; run the same command again to resume")
                return INTERRUPTED
            except Exception as exc:
                known = describe(exc)
                if known is None:
                    raise
                reporter.error(known[1])
                return known[0]
    finally:
        # The command is over: a late Ctrl-C must not kill the interpreter while it shuts
        # down (Python restores the default SIGINT action then) and change the exit status.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


if __name__ == "__main__":
    sys.exit(main())
