"""Request JSON checked before validation: its size, its nesting depth, and finite numbers only.

pydantic and FastAPI see a body only after this: a body nested hundreds of levels deep used to be
validated (or not: 500s past pydantic's recursion limit), stored, and then break every read of
the job, and ``NaN`` / ``Infinity`` (which Python's json reads, but JSON has not) reached
pipelines. Errors name the field where the problem is, as validation errors do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from scenecraft.core.errors import InvalidParams
from scenecraft.service.api.routers.common import field_errors

MAX_BODY_BYTES = 16 * 2**20  # a batch of 1,000 jobs, or one 8 MiB image in base64
MAX_JSON_DEPTH = 32  # the deepest valid request (a batch's scene objects) needs 7 levels


def checked_json(raw: bytes | str, where: str = "") -> Any:
    """The JSON document in ``raw``, refused (``InvalidParams``) when it is not JSON, is nested
    deeper than ``MAX_JSON_DEPTH``, or holds a number that is not finite. ``where`` prefixes the
    fields named in errors (``line 3`` for a line of a JSONL upload)."""
    place = where or "body"
    try:
        doc = json.loads(raw)
    except RecursionError:  # deeper than the interpreter's stack, far past the limit
        raise InvalidParams.single(place, _too_deep()) from None
    except UnicodeDecodeError:
        raise InvalidParams.single(place, "not valid JSON: not UTF-8") from None
    except json.JSONDecodeError as e:
        at = f"column {e.colno}" if where else f"line {e.lineno} column {e.colno}"
        raise InvalidParams.single(place, f"not valid JSON at {at}: {e.msg}") from None
    problem = _first_problem(doc)
    if problem is not None:
        path, message = problem
        loc = {"type": "value_error", "loc": path, "msg": message}
        raise InvalidParams(field_errors([loc], prefix=where))
    return doc


def _too_deep() -> str:
    return f"nested too deep: at most {MAX_JSON_DEPTH} levels of objects and arrays"


def _first_problem(doc: Any) -> tuple[tuple[str | int, ...], str] | None:
    """(path, message) of the first value too deep or not finite, in document order.

    Iterative, so that a document as deep as ``json`` reads cannot exhaust the stack here."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path, "not a finite number (JSON has no NaN or Infinity)"
        if isinstance(value, dict | list):
            if len(path) >= MAX_JSON_DEPTH:
                return path, _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(reversed([(v, (*path, k)) for k, v in items]))
    return None


def is_json(request: Request) -> bool:
    """Whether FastAPI reads this request's body as JSON (as its request handler decides)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    kind, _, sub = media.partition("/")
    return kind == "application" and (sub == "json" or sub.endswith("+json"))


class CheckedJSONRoute(APIRoute):
    """A route whose JSON body passes ``checked_json`` before FastAPI validates it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            # the body is kept for FastAPI to read; an empty one is left to its "body required"
            if is_json(request) and (raw := await request.body()):
                checked_json(raw)
            return await handle(request)

        return checked
