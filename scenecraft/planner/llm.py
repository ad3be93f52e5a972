"""The LLM planner: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Every reply is JSON validated with pydantic and checked against the spec (counts, negations,
relations, boxes on the canvas). An unusable reply gets a repair message naming what was wrong;
timeouts, connection errors, HTTP 429 and 5xx are retried with backoff; both share one bounded
budget of ``1 + max_retries`` requests. An auth error (401/403) is not retried. After the last
try the planner raises ``PlannerError`` saying why, or, when given a fall-back planner, logs that
and answers from it. Valid replies are cached on disk by (model, template version, prompt).
JSON is only ever parsed (``json``), never evaluated.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenecraft.core.contracts import Box, Detection, Layout, SceneSpec
from scenecraft.core.errors import PlannerError
from scenecraft.core.settings import Settings
from scenecraft.planner.base import Planner
from scenecraft.planner.cache import ResponseCache
from scenecraft.planner.geometry import layout_problems, numbered
from scenecraft.planner.templates import load_template

log = logging.getLogger(__name__)

T = TypeVar("T")
CANVAS = 512  # the pixel canvas correct/edit talk to the LLM in (SLD's convention)
BOX_SLACK = 0.02  # boxes overshooting the canvas by at most this fraction are clipped, not refused
_RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)
_MAX_BACKOFF_S = 30.0


class _ItemReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str = Field(min_length=1)
    box: list[float] = Field(min_length=4, max_length=4)


class _LayoutReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    objects: list[_ItemReply]
    background: str = ""
    negative_prompt: str = ""


class InvalidReply(ValueError):
    """The LLM answered, but not with a usable plan; the message goes back to it."""


def extract_json(text: str) -> Any:
    """The first JSON object in a reply: bare, in a ``` fence, or wrapped in prose."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch == "{":
            try:
                return decoder.raw_decode(text, i)[0]
            except ValueError:
                continue
    raise InvalidReply("the reply holds no JSON object")


def _spec_from(data: Any) -> SceneSpec:
    try:
        spec = SceneSpec.model_validate(data)
    except ValidationError as e:
        raise InvalidReply(_errors(e)) from e
    n = len(spec.objects)
    for r in spec.relations:
        if max(r.subject, r.object, r.object2 or 0) >= n:
            raise InvalidReply(f"a relation points past the {n} objects listed")
        if r.relation == "between" and r.object2 is None:
            raise InvalidReply("a 'between' relation needs object2")
    return spec


def _layout_from(data: Any, width: int, height: int, spec: SceneSpec | None) -> Layout:
    """Pixel boxes -> normalised layout; refuse boxes off the canvas and wrong counts."""
    try:
        reply = _LayoutReply.model_validate(data)
    except ValidationError as e:
        raise InvalidReply(_errors(e)) from e
    pairs, problems = [], []
    for it in reply.objects:
        x, y, w, h = it.box
        box = [x / width, y / height, w / width, h / height]
        bad = w <= 0 or h <= 0 or min(box[0], box[1]) < -BOX_SLACK
        bad = bad or box[0] + box[2] > 1 + BOX_SLACK or box[1] + box[3] > 1 + BOX_SLACK
        if bad:
            problems.append(
                f"the box of {it.label!r} {it.box} is not inside the {width}x{height} canvas "
                "(boxes are [x, y, width, height] in pixels)"
            )
            continue
        x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
        pairs.append((it.label, [x0, y0, min(box[2], 1 - x0), min(box[3], 1 - y0)]))
    if problems:
        raise InvalidReply("; ".join(problems))
    layout = Layout(
        items=numbered(pairs), background=reply.background, negative_prompt=reply.negative_prompt
    )
    if spec is not None:
        problems = layout_problems(layout, spec, max_iou=1.0)
        if problems:
            raise InvalidReply("; ".join(problems))
    return layout


def _errors(e: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}" for err in e.errors()
    )


def _pixels(detections: list[Detection]) -> str:
    return json.dumps(
        [
            {"label": d.label.split("#")[0].strip(), "box": [round(v * CANVAS) for v in d.box]}
            for d in detections
        ]
    )


class OpenAIPlanner:
    """Planner backed by an OpenAI-compatible chat-completions endpoint."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        cache_dir: Path | None = None,
        fallback: Planner | None = None,
        backoff_s: float = 1.0,
    ):
        if not base_url:
            raise PlannerError(
                "the openai planner needs an endpoint: set SCENECRAFT_LLM_BASE_URL "
                "(e.g. https://api.openai.com/v1 or http://localhost:8000/v1 for vLLM)"
            )
        # retries are ours (bounded, with repair messages), so the client makes one request
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "unused",  # local servers ignore it, the client insists on one
            timeout=timeout_s,
            max_retries=0,
        )
        self.model = model
        self.max_retries = max_retries
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.fallback = fallback
        self.backoff_s = backoff_s
        self.json_mode = True  # response_format=json_object until the server says it can't

    @classmethod
    def from_settings(
        cls, settings: Settings, cache_dir: Path | None, fallback: Planner | None
    ) -> OpenAIPlanner:
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key,
            settings.llm_timeout_s,
            settings.llm_max_retries,
            cache_dir,
            fallback,
        )

    def parse(self, prompt: str) -> SceneSpec:
        return self._or_fallback(
            "parse", (prompt,), lambda: self._ask("parse", {"prompt": prompt}, _spec_from)
        )

    def layout(self, prompt: str, size: tuple[int, int] = (512, 512)) -> Layout:
        def plan() -> Layout:
            spec = self.parse(prompt)
            width, height = size
            values = {
                "prompt": prompt,
                "spec": spec.model_dump_json(exclude={"warnings"}),
                "width": width,
                "height": height,
            }
            layout = self._ask(
                "layout", values, lambda data: _layout_from(data, width, height, spec)
            )
            return layout.model_copy(update={"warnings": spec.warnings})

        return self._or_fallback("layout", (prompt, size), plan)

    def correct(
        self,
        prompt: str,
        spec: SceneSpec,
        detections: list[Detection],
        obstacles: list[Box] | None = None,
    ) -> Layout:
        # the template (correct.v2) has no slot for obstacles: the LLM is told only the
        # detections and "add missing objects in free space"; the fallback planner uses them
        values = {
            "prompt": prompt,
            # the template's spec is what to draw; the parse's warnings are for the record
            "spec": spec.model_dump_json(exclude={"warnings"}),
            "detections": _pixels(detections),
        }
        return self._or_fallback(
            "correct",
            (prompt, spec, detections, obstacles),
            lambda: self._ask("correct", values, lambda d: _layout_from(d, CANVAS, CANVAS, spec)),
        )

    def edit(self, instruction: str, detections: list[Detection]) -> Layout:
        values = {"instruction": instruction, "detections": _pixels(detections)}
        return self._or_fallback(
            "edit",
            (instruction, detections),
            lambda: self._ask("edit", values, lambda d: _layout_from(d, CANVAS, CANVAS, None)),
        )

    def _or_fallback(self, method: str, args: tuple, plan: Callable[[], T]) -> T:
        try:
            return plan()
        except PlannerError as e:
            if self.fallback is None:
                raise
            log.warning(
                "LLM planner failed to %s (%s); using the %s planner", method, e, self.fallback.name
            )
            return getattr(self.fallback, method)(*args)

    def _ask(self, task: str, values: dict[str, Any], validate: Callable[[Any], T]) -> T:
        """One validated answer for a task, from the cache or the server, within the budget."""
        template = load_template(task)
        messages = template.messages(**values)
        prompt = messages[-1]["content"]
        if self.cache is not None:
            cached = self.cache.get(self.model, template.version, prompt)
            if cached is not None:
                try:
                    return validate(cached)
                except InvalidReply:
                    log.warning("ignoring a cached %s reply that no longer validates", task)
        attempts = 1 + self.max_retries
        problem = "no request was made"
        for attempt in range(attempts):
            try:
                text = self._complete(messages)
            except _RETRYABLE as e:
                problem = _describe(e)
                log.warning("LLM request %d/%d failed: %s", attempt + 1, attempts, problem)
                if attempt + 1 < attempts:
                    time.sleep(_delay(e, self.backoff_s * 2**attempt))
                continue
            try:
                data = extract_json(text)
                result = validate(data)
            except InvalidReply as e:
                problem = f"unusable reply: {e}"
                log.warning("LLM reply %d/%d unusable: %s", attempt + 1, attempts, e)
                messages = [
                    *messages,
                    {"role": "assistant", "content": text},
                    {
                        "role": "user",
                        "content": f"That reply could not be used: {e}. Answer again with only "
                        "the corrected JSON object, in the form the instructions give.",
                    },
                ]
                continue
            if self.cache is not None:
                self.cache.put(self.model, template.version, prompt, data)
            return result
        raise PlannerError(
            f"the LLM at {self.client.base_url} gave no usable {task} plan after {attempts} "
            f"request(s); last problem: {problem}"
        )

    def _complete(self, messages: list[dict[str, str]]) -> str:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            response = self.client.chat.completions.create(**kwargs)
        except _RETRYABLE:
            raise
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise PlannerError(
                f"the LLM server at {self.client.base_url} refused the credentials "
                f"(HTTP {e.status_code}); check SCENECRAFT_LLM_API_KEY. Not retried."
            ) from e
        except openai.BadRequestError as e:
            if self.json_mode and "response_format" in str(e):
                # a server without JSON mode: ask again without it (the reply is still parsed
                # tolerantly and validated), and don't count this against the retry budget
                self.json_mode = False
                return self._complete(messages)
            raise PlannerError(f"the LLM server rejected the request: {e}") from e
        except openai.APIStatusError as e:
            raise PlannerError(f"the LLM server answered HTTP {e.status_code}: {e.message}") from e
        # an empty reply is an unusable one: it gets the repair message like any other
        return (response.choices[0].message.content or "") if response.choices else ""


def _describe(e: Exception) -> str:
    if isinstance(e, openai.APIStatusError):
        return f"HTTP {e.status_code} ({type(e).__name__})"
    return f"{type(e).__name__}: {e}"


def _delay(e: Exception, backoff: float) -> float:
    """Seconds to wait before retrying: the server's Retry-After when it gives one."""
    if isinstance(e, openai.APIStatusError):
        retry_after = e.response.headers.get("retry-after")
        try:
            return min(float(retry_after), _MAX_BACKOFF_S)
        except (TypeError, ValueError):
            pass
    return min(backoff, _MAX_BACKOFF_S)
