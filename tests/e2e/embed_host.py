"""A user's own FastAPI application with the upload server mounted inside it, as
docs/server.md ("Embedding") shows; started by tests/e2e/test_embedding.py."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tuskit.upload.app import create_app
from tuskit.upload.settings import Settings

uploads = create_app(Settings(data_dir=os.environ["EMBED_DATA_DIR"]))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with uploads.running():  # a mounted app's own lifespan is not run by Starlette
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


app.mount("/uploads", uploads)
