"""What a person does on the web page, in Chromium against the live API, worker and Redis."""

from __future__ import annotations

import re

import httpx
from integration_conftest import KEY_A, KEY_B
from playwright.sync_api import expect

from scenecraft.service.worker.local import wait_for

PHONE = {"width": 390, "height": 844}

JOB_URL = re.compile(r"#/jobs/([0-9a-f]{32})$")


def job_id_of(url: str) -> str:
    m = JOB_URL.search(url)
    assert m, f"not on a job page: {url}"
    return m.group(1)


def submit_render(page, prompt: str, size: int, seed: int) -> str:
    """Fill the world.render form and submit it from the keyboard; returns the new job's id."""
    page.get_by_label("Pipeline", exact=True).select_option("world.render")
    page.get_by_label("Size").fill(str(size))
    more = page.locator("details.more")
    if not more.evaluate("d => d.open"):
        more.locator("summary").click()
    page.get_by_label("Seed").fill(str(seed))
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Prompt").press("Enter")
    page.wait_for_url(JOB_URL)
    return job_id_of(page.url)


def test_submit_watch_result_and_download_svg(tab, worker, tmp_path):
    t = tab()
    page = t.page
    t.sign_in(KEY_A)
    # the form comes from the pipeline's JSON schema: labels, limits, hints
    page.get_by_label("Pipeline", exact=True).select_option("world.render")
    size = page.get_by_label("Size")
    expect(size).to_have_attribute("type", "number")
    expect(size).to_have_attribute("min", "8")
    expect(page.get_by_label("Prompt")).to_have_attribute("type", "text")
    t.shot("form-desktop")

    job_id = submit_render(page, "two red circles left of a blue star", 64, 3)
    # a screen reader lands on the new page's heading
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.locator("#job-progress")).to_have_attribute("value", "100", timeout=60_000)
    expect(page.locator("#job-percent")).to_have_text("100%")
    expect(page.locator("#job-state")).to_have_text("succeeded")

    raster = page.locator("img[data-artifact='final.png']")
    expect(raster).to_be_visible()
    wait_for(lambda: raster.evaluate("i => i.complete && i.naturalWidth") == 64, "the result image")
    # the SVG is shown through <img> (scripts in it cannot run), never inlined into the page
    svg_img = page.locator("img[data-artifact='final.svg']")
    wait_for(lambda: svg_img.evaluate("i => i.complete && i.naturalWidth") > 0, "the SVG image")
    assert page.locator("main svg").count() == 0
    # the layout's boxes are drawn over the raster
    assert page.locator(".frame .box").count() == 3
    t.shot("job-world-render-desktop")

    with page.expect_download() as dl:
        page.get_by_role("link", name="Download final.svg").first.click()
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    assert saved.name == f"{job_id[:8]}-final.svg"
    assert b"<svg" in saved.read_bytes()[:400]

    with page.expect_download() as dl:
        page.get_by_role("link", name="Download final.png").first.click()
    assert dl.value.suggested_filename.endswith("final.png")

    page.get_by_role("link", name="← All jobs").click()
    card = page.locator(f"[data-job-id='{job_id}']")
    expect(card.locator(".badge")).to_have_text("succeeded")
    expect(card.locator("img")).to_be_visible()
    t.shot("gallery-desktop")


def test_vectorize_fits_an_svg_shown_beside_its_target(tab, worker, tmp_path):
    t = tab()
    page = t.page
    t.sign_in(KEY_A)
    page.get_by_label("Pipeline", exact=True).select_option("vectorize")
    page.get_by_label("Size").fill("32")
    page.get_by_label("Iters").fill("20")
    page.get_by_label("Paths").press("Enter")
    page.wait_for_url(JOB_URL)
    expect(page.locator("#job-percent")).to_have_text("100%", timeout=90_000)
    section = page.locator("section.panel-section")
    expect(section.locator("figcaption > span")).to_have_text(
        ["Target", "Fitted SVG", "SVG rendered"]
    )
    svg = page.locator("img[data-artifact='final.svg']")
    wait_for(lambda: svg.evaluate("i => i.complete && i.naturalWidth") > 0, "the fitted SVG")
    with page.expect_download() as dl:
        section.get_by_role("link", name="Download final.svg").click()
    saved = tmp_path / "fit.svg"
    dl.value.save_as(saved)
    assert b"<path" in saved.read_bytes()
    t.shot("job-vectorize-desktop")


def test_live_progress_and_cancel_running_and_queued(tab, worker, api):
    t = tab()
    page = t.page
    t.sign_in(KEY_A)
    page.get_by_label("Pipeline", exact=True).select_option("test.steps")
    page.get_by_label("Steps").fill("600")
    page.get_by_label("Step S").fill("0.1")
    page.get_by_label("Preview").check()
    page.get_by_role("button", name="Submit job").click()
    page.wait_for_url(JOB_URL)
    running = job_id_of(page.url)

    # live: the bar moves and previews arrive while the job runs
    expect(page.locator("#job-state")).to_have_text("running", timeout=60_000)
    bar = page.locator("#job-progress")
    wait_for(lambda: 0 < float(bar.get_attribute("value") or 0) < 100, "the bar to move")
    expect(page.locator("#job-preview")).to_be_visible()
    expect(page.locator("#progress-label")).to_contain_text("steps")
    t.shot("job-running-desktop")

    # a second job waits behind it (one worker process); cancel it from the gallery
    queued = httpx.post(
        f"{api.url}/v1/jobs",
        json={"pipeline": "test.steps", "params": {"steps": 5}},
        headers={"Authorization": f"Bearer {KEY_A}"},
    ).json()["id"]
    page.get_by_role("link", name="← All jobs").click()
    card = page.locator(f"[data-job-id='{queued}']")
    expect(card.locator(".badge")).to_have_text("queued")
    card.get_by_role("button", name=f"Cancel job {queued[:8]}").click()
    expect(card.locator(".badge")).to_have_text("canceled")

    # the running one is cancelled from its own page and stops
    page.locator(f"[data-job-id='{running}'] a.card-link").click()
    page.get_by_role("button", name=f"Cancel job {running[:8]}").click()
    expect(page.locator("#job-state")).to_have_text("canceled", timeout=30_000)
    t.shot("job-canceled-desktop")

    # the gallery's filters narrow it to what was asked for
    page.get_by_role("link", name="← All jobs").click()
    page.get_by_label("Filter by state").select_option("canceled")
    expect(page.locator(".job-card .badge").filter(has_not_text="canceled")).to_have_count(0)
    expect(page.locator(f"[data-job-id='{queued}']")).to_be_visible()
    expect(page.locator(f"[data-job-id='{running}']")).to_be_visible()
    page.get_by_label("Filter by state").select_option("")
    page.get_by_label("Filter by pipeline").select_option("world.render")
    expect(page.locator(f"[data-job-id='{running}']")).to_have_count(0)
    expect(page.locator(".job-card").filter(has_text="test.steps")).to_have_count(0)


def test_bad_field_shows_the_servers_error_next_to_it(tab):
    t = tab()
    page = t.page
    t.sign_in(KEY_A)
    page.get_by_label("Pipeline", exact=True).select_option("world.render")
    page.get_by_label("Prompt").fill("a red star")
    size = page.get_by_label("Size")
    size.fill("99999")
    size.press("Enter")
    summary = page.locator("#form-errors")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("params.size")
    expect(summary).to_be_focused()
    expect(size).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-world_render-size-error")).to_contain_text("limit")
    t.shot("form-error-desktop")
    # the summary links to the field
    summary.get_by_role("link").first.click()
    expect(size).to_be_focused()
    # an error about the params as a whole is listed, not pinned on a field
    page.get_by_label("Prompt").fill("")
    size.fill("64")
    size.press("Enter")
    expect(summary).to_contain_text("give exactly one of 'prompt' or 'scene'")
    expect(size).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Prompt").fill("a red star")
    # a fixed field is accepted
    size.fill("64")
    size.press("Enter")
    page.wait_for_url(JOB_URL)


def test_second_key_sees_none_of_the_first_keys_jobs(tab, api):
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {KEY_A}"}) as a:
        r = a.post("/v1/jobs", json={"pipeline": "test.steps", "params": {"steps": 1}})
        mine = r.json()["id"]
    t = tab()
    page = t.page
    t.sign_in(KEY_B)
    page.locator("#job-list[aria-busy='false']").wait_for(state="attached")
    assert page.locator(f"[data-job-id='{mine}']").count() == 0
    page.goto(f"/#/jobs/{mine}")
    expect(page.locator("#job-error")).to_contain_text("No job")
    t.shot("other-key-desktop")
    # and the first key does see it
    t2 = tab()
    t2.sign_in(KEY_A)
    expect(t2.page.locator(f"[data-job-id='{mine}']")).to_be_visible()


def test_wrong_key_is_refused_and_sign_out_forgets_the_key(tab):
    t = tab()
    page = t.page
    page.goto("/")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_have_text("That API key was not accepted.")
    t.sign_in(KEY_A)
    assert page.evaluate("sessionStorage.length") == 1
    assert page.evaluate("localStorage.length") == 0
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_phone_width(tab, worker):
    t = tab(PHONE)
    page = t.page
    t.sign_in(KEY_A)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    t.shot("form-phone")
    submit_render(page, "a green hexagon above a yellow heart", 64, 5)
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=60_000)
    page.locator("img[data-artifact='final.png']").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    t.shot("job-world-render-phone")
    page.get_by_role("link", name="← All jobs").click()
    page.locator("#job-list[aria-busy='false']").wait_for(state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    t.shot("gallery-phone")
