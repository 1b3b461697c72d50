"""The upload API's design: plain Python that builds one `API` object, `api`.

Generate `gen/` from it with `tusgen generate` (defaults come from pyproject.toml).
"""

from __future__ import annotations

from tusgen.dsl import API

from .cors import declare_cors
from .ietf import declare_ietf
from .sessions import declare_sessions
from .streams import declare_streams
from .tus import declare_tus


def build() -> API:
    """A fresh design; nothing is registered globally, so tests can build their own."""
    api = API(
        "upload",
        title="Resumable uploads",
        version="1.0.0",
        doc="Resumable uploads: tus 1.0.0 with every extension and the IETF resumable-upload"
        " draft (interop 9 and 6), downloads and CORS.",
    )
    declare_cors(api)
    declare_tus(api)
    declare_ietf(api)
    declare_sessions(api)
    declare_streams(api)
    return api


api = build()
