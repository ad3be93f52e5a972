"""``bench/vectorize.py corpus`` end to end on a tiny corpus: table, JSON and worst-case sheet."""

from __future__ import annotations

import importlib
import io
import json
import math
import sys
import tarfile
from pathlib import Path

from PIL import Image

BENCH = Path(__file__).parent.parent.parent / "bench"

# two small drawings in the shapes the real sets have: a square emoji-like icon, a 4:3 flag
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 36 36">'
    '<circle cx="18" cy="16" r="11" fill="#dd2e44"/>'
    '<rect x="7" y="27" width="22" height="5" fill="#3b88c3"/></svg>'
)
FLAG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 480">'
    '<path fill="#fff" d="M0 0h640v480H0z"/><path fill="#ce1126" d="M0 0h640v240H0z"/></svg>'
)


def _fake_cache(cache: Path, corpus) -> None:
    """One tarball per set, named as ``npm pack`` names it, holding one SVG in the set's folder
    (so nothing is fetched)."""
    cache.mkdir()
    for k, s in enumerate(corpus.SETS):
        data = (ICON if k % 2 == 0 else FLAG).encode()
        with tarfile.open(cache / s.tarball, "w:gz") as tar:
            info = tarfile.TarInfo(f"{s.folder}/picture-{k}.svg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_corpus_benchmark_writes_finite_scores_for_every_image_size_and_vectoriser(
    tmp_path, monkeypatch
):
    monkeypatch.syspath_prepend(str(BENCH))
    corpus = importlib.import_module("vector_corpus")
    bench = importlib.import_module("vectorize")
    _fake_cache(tmp_path / "cache", corpus)
    out, sheet = tmp_path / "corpus.json", tmp_path / "worst.png"
    argv = ["vectorize.py", "corpus", "--sizes", "24", "32", "--per-set", "1"]
    argv += [
        "--shapesworld",
        "1",
        "--paths",
        "8",
        "--iters",
        "30",
        "--cache",
        str(tmp_path / "cache"),
    ]
    argv += ["--target-side", "32", "--sheet-side", "32", "--worst", "2"]
    argv += ["--out", str(out), "--sheet", str(sheet)]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()

    report = json.loads(out.read_text())
    sets = [s.name for s in corpus.SETS]
    assert [r["set"] for r in report["corpus"]] == sets
    assert len(report["images"]) == 2 * (len(sets) + 1)
    flag = next(r for r in report["images"] if r["side"] == 32 and "picture-1" in r["name"])
    assert (flag["width"], flag["height"]) == (32, 24)  # longest side = the size, aspect kept
    for record in report["images"]:
        for who in ("ours", *bench.VTRACER):
            m = record[who]
            assert math.isfinite(m["psnr"]) and 10 < m["psnr"] <= 120, (record["name"], who, m)
            assert 0 < m["ssim"] <= 1
            assert m["svg_bytes"] > 0 and m["paths"] >= 1 and m["seconds"] >= 0
        if record["set"] != "shapesworld":  # at 24-32 px its shapes are a few pixels wide
            assert record["ours"]["psnr"] > 30, record  # flat colours, a circle: far from noise
    assert set(report["summary"]) == {"24", "32"}
    assert set(report["summary"]["32"]) == {*sets, "shapesworld", bench.PEOPLE}
    assert report["summary"]["32"][bench.PEOPLE]["n"] == len(sets)
    assert all(isinstance(v, bool) for v in report["targets"]["met"].values())
    assert len(report["worst"]) == 2
    with Image.open(sheet) as im:
        assert im.format == "PNG" and im.width > 0
