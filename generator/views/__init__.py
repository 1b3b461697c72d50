"""View models: everything the templates print, derived once from the frozen IR.

Names (`upload_offset`, `PatchPayload`, `Upload-Offset`), status ints, Python types,
header specs, the checks of every request value and each module's imports are computed
here as data; the code's shape lives in the templates (`tusgen/templates/`), which only
print and loop.
"""

from __future__ import annotations

from .cli import CliMethodView, CliView, FlagView, cli_view
from .client import ClientMethodView, ClientResultView, RequestHeaderView, UrlPart
from .errors import ErrorHeaderView, ErrorView
from .models import FieldView, ModelView
from .request import CheckView, Constants, ConstView, DecodeView, ValueView
from .response import EncodeView, OutHeaderView, ResultView
from .service import ImportView, MethodView, RouteView, ServiceView, service_view
from .text import GENERATED, docstring, header_text, lit, py_type, wrapped_lit

__all__ = [
    "GENERATED",
    "CheckView",
    "CliMethodView",
    "CliView",
    "ClientMethodView",
    "ClientResultView",
    "ConstView",
    "Constants",
    "DecodeView",
    "EncodeView",
    "ErrorHeaderView",
    "ErrorView",
    "FieldView",
    "FlagView",
    "ImportView",
    "MethodView",
    "ModelView",
    "OutHeaderView",
    "RequestHeaderView",
    "ResultView",
    "RouteView",
    "ServiceView",
    "UrlPart",
    "ValueView",
    "cli_view",
    "docstring",
    "header_text",
    "lit",
    "py_type",
    "service_view",
    "wrapped_lit",
]
