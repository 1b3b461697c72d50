"""`upload-cli <service> <method> --flags`: the generated per-method command lines
(`gen/http/<service>/cli.py`), one request each, printed as one JSON line."""

from __future__ import annotations

import argparse
from types import ModuleType

from tusgen import runtime as rt
from tuskit.gen.http.ietf import cli as ietf_cli
from tuskit.gen.http.sessions import cli as sessions_cli
from tuskit.gen.http.streams import cli as streams_cli
from tuskit.gen.http.tus import cli as tus_cli

from .command import Command, Context
from .flags import common_flags
from .urls import checked

DEFAULT_SERVER = "http://127.0.0.1:8080"
SERVICES: tuple[ModuleType, ...] = (tus_cli, ietf_cli, streams_cli, sessions_cli)


def command(cli: ModuleType) -> Command:
    """The generated layer of one service as an `upload-cli` command."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        shared = argparse.ArgumentParser(add_help=False, parents=[common_flags()])
        shared.add_argument(
            "--url",
            default=DEFAULT_SERVER,
            help=f"The server (default: {DEFAULT_SERVER}); {cli.SERVICE_PATH or '/'} is appended.",
        )
        cli.add_commands(parser, [shared])

    async def run(args: argparse.Namespace, ctx: Context) -> int:
        client = cli.connect(checked(args.url), ctx.http)
        return await rt.run_command(client, cli.call, args)

    return Command(
        help=f"{cli.SERVICE_NAME} methods, one request each (generated).",
        description=cli.DESCRIPTION,
        add_arguments=add_arguments,
        run=run,
        common=False,
    )
