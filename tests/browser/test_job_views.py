"""The per-pipeline job pages (SLD rounds, SVGCraft, SLATE), drawn from jobs the browser is
handed by a route: their pipelines may not be in the registry, but the page's views are keyed
on pipeline names and artifact names alone, so any finished job of that shape must read right."""

from __future__ import annotations

import io
import json
import uuid

from integration_conftest import KEY_A
from PIL import Image, ImageDraw
from playwright.sync_api import expect


def png(shapes: list[tuple[str, str, tuple[float, float, float, float]]], size: int = 96) -> bytes:
    """A small scene: (kind, colour, box [x, y, w, h] in [0, 1]) per shape."""
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    for kind, colour, (x, y, w, h) in shapes:
        xy = [x * size, y * size, (x + w) * size, (y + h) * size]
        (d.ellipse if kind == "circle" else d.rectangle)(xy, fill=colour)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def grey(level: int, size: int = 96) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (size, size), level).save(buf, "PNG")
    return buf.getvalue()


def show_job(page, pipeline: str, params: dict, files: dict[str, tuple[bytes, str]]) -> str:
    """Serve one finished job with these artifacts to the page, open its page; returns its id."""
    job_id = uuid.uuid4().hex
    base = f"/v1/jobs/{job_id}"
    job = {
        "id": job_id,
        "pipeline": pipeline,
        "params": params,
        "priority": 5,
        "state": "succeeded",
        "created_at": "2026-01-01T00:00:00Z",
        "started_at": "2026-01-01T00:00:01Z",
        "finished_at": "2026-01-01T00:00:09Z",
        "attempts": 1,
        "progress": {"stage": "done", "step": 1, "total": 1},
        "cancel_requested": False,
        "artifacts": [
            {
                "name": n,
                "media_type": m,
                "size": len(b),
                "digest": "0" * 64,
                "url": f"{base}/artifacts/{n}",
            }
            for n, (b, m) in files.items()
        ],
        "metrics": {},
        "record": {},
        "error": None,
        "batch": None,
        "links": {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"},
    }

    def handle(route):
        path = route.request.url.split("?")[0]
        name = path.rsplit("/artifacts/", 1)[1] if "/artifacts/" in path else None
        if name is None:
            route.fulfill(json=job)
        else:
            body, media = files[name]
            route.fulfill(body=body, headers={"Content-Type": media})

    page.route(f"**{base}", handle)
    page.route(f"**{base}/artifacts/*", handle)
    page.goto(f"/#/jobs/{job_id}")
    expect(page.locator("#job-state")).to_have_text("succeeded")
    return job_id


def figure(page, caption: str):
    return page.locator("figure.panel").filter(
        has=page.locator("figcaption > span", has_text=caption)
    )


def test_sld_rounds_side_by_side_with_boxes_and_ops(tab, api):
    t = tab()
    t.sign_in(KEY_A)
    page = t.page
    circle_a, circle_b, star = [0.05, 0.1, 0.3, 0.3], [0.6, 0.1, 0.3, 0.3], [0.3, 0.6, 0.3, 0.3]
    round1 = {
        "detections": [{"label": "red circle", "box": circle_a, "score": 0.97}],
        "target": {
            "items": [
                {"label": "red circle #1", "box": circle_b},
                {"label": "blue square #1", "box": star},
            ]
        },
        "ops": [
            {"op": "move", "label": "red circle #1", "old_box": circle_a, "new_box": circle_b},
            {"op": "add", "label": "blue square #1", "new_box": star},
        ],
    }
    round2 = {
        "detections": [
            {"label": "red circle", "box": circle_b, "score": 0.95},
            {"label": "blue square", "box": star, "score": 0.9},
        ],
        "target": round1["target"],
        "ops": [],
    }
    after = png([("circle", "red", circle_b), ("square", "blue", star)])
    show_job(
        page,
        "sld",
        {"prompt": "a red circle right of a blue square", "width": 96, "height": 96},
        {
            "initial.png": (png([("circle", "red", circle_a)]), "image/png"),
            "round1.png": (png([("circle", "red", circle_a)]), "image/png"),
            "round1.json": (json.dumps(round1).encode(), "application/json"),
            "round2.png": (after, "image/png"),
            "round2.json": (json.dumps(round2).encode(), "application/json"),
            "final.png": (after, "image/png"),
        },
    )
    rounds = page.locator("section.panel-section", has=page.get_by_role("heading", name="Rounds"))
    captions = rounds.locator("figcaption > span")
    expect(captions).to_have_text(["Initial", "Round 1", "Round 2", "Final"])
    r1 = figure(page, "Round 1")
    expect(r1.locator(".box.detected")).to_have_count(1)
    expect(r1.locator(".box.proposed")).to_have_count(2)
    expect(r1.locator(".ops li")).to_have_text(
        [
            "move red circle #1 [0.05, 0.10, 0.30, 0.30] → [0.60, 0.10, 0.30, 0.30]",
            "add blue square #1 [0.30, 0.60, 0.30, 0.30]",
        ]
    )
    expect(figure(page, "Round 2").locator(".box.detected")).to_have_count(2)
    expect(figure(page, "Round 2")).to_contain_text("No edits.")
    # boxes sit where the JSON puts them: the proposed circle's box over the right third
    img = r1.locator("img").bounding_box()
    box = r1.locator(".box.proposed").first.bounding_box()
    assert abs((box["x"] - img["x"]) / img["width"] - circle_b[0]) < 0.03
    t.shot("job-sld-desktop")
    # on a phone the rounds stay side by side in a row that scrolls, not the page
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = page.get_by_role("group", name="Rounds, side by side")
    assert row.evaluate("e => e.scrollWidth > e.clientWidth")
    t.shot("job-sld-phone")


def test_svgcraft_layout_raster_and_svg_through_img(tab, api, tmp_path):
    t = tab()
    t.sign_in(KEY_A)
    page = t.page
    layout = {
        "items": [
            {"label": "red circle #1", "box": [0.1, 0.2, 0.35, 0.35]},
            {"label": "blue square #1", "box": [0.55, 0.5, 0.35, 0.35]},
        ],
        "background": "white",
    }
    # a hostile SVG: were it inlined, its script would run in the page
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        b"<script>parent.pwned = 1; window.pwned = 1</script>"
        b'<circle cx="26" cy="36" r="16" fill="red"/><rect x="53" y="48" width="34" height="34"'
        b' fill="blue"/></svg>'
    )
    raster = png(
        [("circle", "red", [0.1, 0.2, 0.35, 0.35]), ("square", "blue", [0.55, 0.5, 0.35, 0.35])]
    )
    job_id = show_job(
        page,
        "svgcraft",
        {"prompt": "a red circle and a blue square", "width": 96, "height": 96},
        {
            "layout.json": (json.dumps(layout).encode(), "application/json"),
            "fused.png": (raster, "image/png"),
            "final.svg": (svg, "image/svg+xml"),
            "final.png": (raster, "image/png"),
        },
    )
    section = page.locator(
        "section.panel-section",
        has=page.get_by_role("heading", name="Layout, fused raster and SVG"),
    )
    expect(section.locator("figcaption > span")).to_have_text(
        ["Layout", "Fused raster", "Final SVG", "SVG rendered"]
    )
    expect(figure(page, "Layout").locator(".box")).to_have_count(2)
    svg_img = figure(page, "Final SVG").locator("img")
    page.wait_for_function("i => i.complete && i.naturalWidth === 96", arg=svg_img.element_handle())
    assert page.locator("main svg").count() == 0
    assert page.evaluate("window.pwned") is None
    with page.expect_download() as dl:
        figure(page, "Final SVG").get_by_role("link", name="Download final.svg").click()
    saved = tmp_path / "out.svg"
    dl.value.save_as(saved)
    assert saved.read_bytes() == svg
    assert dl.value.suggested_filename == f"{job_id[:8]}-final.svg"
    with page.expect_download() as dl:
        figure(page, "SVG rendered").get_by_role("link", name="Download final.png").click()
    assert dl.value.suggested_filename == f"{job_id[:8]}-final.png"
    t.shot("job-svgcraft-desktop")


def test_slate_image_masks_reconstruction_and_composition(tab, api):
    t = tab()
    t.sign_in(KEY_A)
    page = t.page
    scene = png(
        [("circle", "red", [0.1, 0.1, 0.3, 0.3]), ("square", "green", [0.5, 0.5, 0.4, 0.4])]
    )
    files = {
        "input.png": (scene, "image/png"),
        "final.png": (scene, "image/png"),
        "dvae.png": (scene, "image/png"),
        "segmentation.png": (png([("square", "orange", [0, 0, 1, 1])]), "image/png"),
        **{f"slot_{k}.png": (grey(60 * k), "image/png") for k in range(4)},
    }
    show_job(page, "slate", {"mode": "reconstruct", "seed": 1}, files)
    expect(page.locator("section.panel-section h2")).to_have_text(
        ["Image, slots and reconstruction", "Slot masks"]
    )
    first = page.locator("section.panel-section").first.locator("figcaption > span")
    expect(first).to_have_text(["Image", "Reconstruction", "dVAE reconstruction", "Slots"])
    masks = page.locator("section.panel-section").nth(1).locator("figcaption > span")
    expect(masks).to_have_text(["Slot 0", "Slot 1", "Slot 2", "Slot 3"])
    t.shot("job-slate-desktop")

    composed = {"concepts": ["blue star", "red circle"], "slots": [[0, 1], [3, 2]]}
    show_job(
        page,
        "slate",
        {"mode": "compose", "concepts": "a blue star and a red circle"},
        {
            "final.png": (scene, "image/png"),
            "composition.json": (json.dumps(composed).encode(), "application/json"),
        },
    )
    expect(page.locator("figcaption > span")).to_have_text(["Composition"])
    expect(page.get_by_role("rowheader", name="composition.json")).to_be_visible()
