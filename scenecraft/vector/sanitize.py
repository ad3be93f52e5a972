"""Parse untrusted SVG safely and keep only inert, allowlisted markup.

SVG is active content (scripts, event handlers, foreignObject HTML, external fetches), so every
SVG scenecraft reads goes through here: defusedxml refuses entity tricks, limits on bytes,
element count and nesting are enforced while parsing, and the tree is rebuilt from an allowlist
of elements and attributes. What is dropped: every element not on the list (script,
foreignObject, iframe, image, a, animate, set, style sheets — which also removes CSS ``@import``),
every attribute not on the list (so every ``on*`` handler), any link that is not a same-document
``#fragment``, any value mentioning ``javascript:`` / ``data:`` / ``vbscript:``, and inline style
declarations that are not plain paint properties. Errors are
:class:`scenecraft.core.errors.SVGError`.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as DET

from scenecraft.core.errors import SVGError

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

ALLOWED_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "use",
        "symbol",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
    ]
)
_PAINT = [
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "stroke-linejoin",
    "stroke-linecap",
    "stroke-miterlimit",
    "stroke-dasharray",
    "stroke-dashoffset",
    "opacity",
    "color",
    "stop-color",
    "stop-opacity",
    "visibility",
    "display",
    "clip-rule",
]
ALLOWED_ATTRIBUTES = frozenset(
    _PAINT
    + [
        "id",
        "class",
        "style",
        "transform",
        "d",
        "x",
        "y",
        "width",
        "height",
        "rx",
        "ry",
        "cx",
        "cy",
        "r",
        "fx",
        "fy",
        "x1",
        "y1",
        "x2",
        "y2",
        "points",
        "viewBox",
        "preserveAspectRatio",
        "version",
        "offset",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "clipPathUnits",
        "clip-path",
        "href",
        "aria-label",
        "data-label",
    ]
)
ALLOWED_STYLE_PROPERTIES = frozenset(_PAINT)
_TEXT_ELEMENTS = frozenset({"title", "desc"})
_ACTIVE_VALUE = re.compile(r"(javascript|vbscript|data)\s*:|expression\s*\(|@import|\\", re.I)
_URL = re.compile(r"url\(\s*['\"]?([^)'\"]*)", re.I)
# characters browsers ignore inside URL schemes ("java\tscript:")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True)
class SVGLimits:
    """Refuse SVGs larger than this before doing any work on them."""

    max_bytes: int = 2_000_000
    max_elements: int = 20_000
    max_depth: int = 64


def _local(name: str) -> tuple[str, str]:
    """'{ns}tag' -> (ns, tag)."""
    if name.startswith("{"):
        ns, _, tag = name[1:].partition("}")
        return ns, tag
    return "", name


def _safe_value(value: str) -> bool:
    compact = _INVISIBLE.sub("", value)
    if _ACTIVE_VALUE.search(compact):
        return False
    return all(u.strip().startswith("#") for u in _URL.findall(compact))


def _clean_style(style: str) -> str:
    kept = []
    for declaration in style.split(";"):
        prop, sep, value = declaration.partition(":")
        prop, value = prop.strip().lower(), value.strip()
        if sep and prop in ALLOWED_STYLE_PROPERTIES and _safe_value(value):
            kept.append(f"{prop}:{value}")
    return ";".join(kept)


def _clean_attributes(elem: Element) -> dict[str, str]:
    out = {}
    for name, value in elem.attrib.items():
        ns, attr = _local(name)
        if ns not in ("", XLINK_NS) or attr not in ALLOWED_ATTRIBUTES:
            continue
        if attr == "href" and not value.strip().startswith("#"):
            continue
        if attr == "style":
            value = _clean_style(value)
            if not value:
                continue
        elif not _safe_value(value):
            continue
        out[attr] = value
    return out


def _rebuild(elem: Element) -> Element | None:
    ns, tag = _local(elem.tag)
    if ns not in ("", SVG_NS) or tag not in ALLOWED_ELEMENTS:
        return None
    clean = Element(f"{{{SVG_NS}}}{tag}", _clean_attributes(elem))
    if tag in _TEXT_ELEMENTS:
        clean.text = elem.text
    for child in elem:
        kept = _rebuild(child)
        if kept is not None:
            clean.append(kept)
    return clean


def _parse_with_limits(data: bytes, limits: SVGLimits) -> Element:
    elements = depth = 0
    try:
        parser = DET.iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=False)
        for event, _elem in parser:
            if event == "end":
                depth -= 1
                continue
            elements += 1
            depth += 1
            if elements > limits.max_elements:
                raise SVGError(
                    f"SVG has more than {limits.max_elements} elements; simplify it or raise "
                    "the limit"
                )
            if depth > limits.max_depth:
                raise SVGError(f"SVG nests elements deeper than {limits.max_depth} levels")
        return parser.root
    except SVGError:
        raise
    except (ET.ParseError, defusedxml.DefusedXmlException) as exc:
        raise SVGError(f"not a well-formed, safe SVG document: {exc}") from exc
    except (ValueError, UnicodeError, LookupError, RecursionError) as exc:
        raise SVGError(f"SVG could not be decoded: {exc}") from exc


def parse_svg(data: str | bytes, limits: SVGLimits | None = None) -> Element:
    """Untrusted SVG text -> a sanitised element tree rooted at an SVG-namespace ``<svg>``."""
    limits = limits or SVGLimits()
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > limits.max_bytes:
        raise SVGError(f"SVG is {len(raw)} bytes; the limit is {limits.max_bytes}")
    root = _parse_with_limits(raw, limits)
    if _local(root.tag)[1] != "svg" or _local(root.tag)[0] not in ("", SVG_NS):
        raise SVGError(f"the root element is <{_local(root.tag)[1]}>, not <svg>")
    return _rebuild(root)


def sanitize_svg(data: str | bytes, limits: SVGLimits | None = None) -> str:
    """Untrusted SVG -> SVG text with only allowlisted, inert elements and attributes."""
    return ET.tostring(parse_svg(data, limits), encoding="unicode")
