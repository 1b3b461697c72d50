"""View models: everything the templates print, derived once from the frozen IR.

Names (`upload_offset`, `PatchPayload`, `Upload-Offset`), status ints, Python types,
header specs, the checks of every request value and each module's imports are computed
here as data; the code's shape lives in the templates (`tusgen/templates/`), which only
print and loop.
"""

from __future__ import annotations

from .client import ClientMethodView, ClientResultView, RequestHeaderView, UrlPart
from .errors import ErrorHeaderView, ErrorView
from .models import FieldView, ModelView
from .request import CheckView, Constants, ConstView, DecodeView, ValueView
from .response import EncodeView, OutHeaderView, ResultView
from .service import ImportView, MethodView, RouteView, ServiceView, service_view
from .text import GENERATED, docstring, header_text, lit, py_type

__all__ = [
    "GENERATED",
    "CheckView",
    "ClientMethodView",
    "ClientResultView",
    "ConstView",
    "Constants",
    "DecodeView",
    "EncodeView",
    "ErrorHeaderView",
    "ErrorView",
    "FieldView",
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
    "docstring",
    "header_text",
    "lit",
    "py_type",
    "service_view",
]
