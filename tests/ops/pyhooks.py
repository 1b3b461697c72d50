"""A Python hook object for tests (`--hooks-python tests.ops.pyhooks:Hooks`).

Every call is appended as a JSON line to the file named by TUSKIT_TEST_HOOK_LOG, so the
test (another process) can read what the server's hooks saw.
"""

from __future__ import annotations

import json
import os
from typing import Any


class Hooks:
    def _record(self, event: dict[str, Any]) -> None:
        with open(os.environ["TUSKIT_TEST_HOOK_LOG"], "a") as log:
            log.write(json.dumps(event) + "\n")

    async def pre_create(self, event: dict[str, Any]) -> dict[str, Any] | None:
        self._record(event)
        meta = event["Event"]["Upload"]["MetaData"]
        if meta.get("filename") == "forbidden.txt":
            return {
                "RejectUpload": True,
                "HTTPResponse": {"StatusCode": 422, "Body": '{"error":"name not allowed"}'},
            }
        return {"ChangeFileInfo": {"MetaData": {**meta, "checked": "yes"}}}

    async def post_create(self, event: dict[str, Any]) -> None:
        self._record(event)

    async def post_finish(self, event: dict[str, Any]) -> None:
        self._record(event)
