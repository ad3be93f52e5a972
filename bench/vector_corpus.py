"""The people-drawn SVG corpus of ``bench/vectorize.py corpus``: icon and emoji sets from npm.

Each set is one pinned npm package; ``npm pack`` fetches its tarball into ``bench/.cache/`` (git
ignores it) and the SVGs under the set's folder are the candidates. The subset is fixed by a rule
that never looks at results: the candidates sorted by the SHA-256 of ``set/file name``, the first
``per_set`` taken. Fetch once with ``python bench/vector_corpus.py`` (``vectorize.py corpus`` also
fetches what is missing).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).parent / ".cache" / "vector-corpus"


@dataclass(frozen=True)
class CorpusSet:
    name: str  # the row label
    package: str  # npm name@version, pinned so the subset never moves
    folder: str  # the SVGs' folder inside the tarball
    licence: str  # of the artwork (what the attribution in docs/vectorize-bench.md follows)
    kind: str  # what the art is like

    @property
    def tarball(self) -> str:
        """The file name ``npm pack`` writes: scope and name joined by '-', then the version."""
        name, version = self.package.rsplit("@", 1)
        return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


SETS = (
    CorpusSet(
        "twemoji",
        "@twemoji/svg@15.0.0",
        "package",
        "CC-BY-4.0 (Twemoji graphics, Twitter and jdecked; the package itself: MIT)",
        "colour emoji: flat fills, no outlines",
    ),
    CorpusSet(
        "openmoji",
        "openmoji@17.0.0",
        "package/color/svg",
        "CC-BY-SA-4.0 (OpenMoji, HfG Schwäbisch Gmünd)",
        "colour emoji: flat fills under black stroked outlines",
    ),
    CorpusSet(
        "flag-icons",
        "flag-icons@7.5.0",
        "package/flags/4x3",
        "MIT (flag-icons, Panayiotis Lipiridis)",
        "country flags, 4:3: stripes, stars, some detailed emblems",
    ),
    CorpusSet(
        "bootstrap-icons",
        "bootstrap-icons@1.13.2",
        "package/icons",
        "MIT (Bootstrap Icons, The Bootstrap Authors)",
        "monochrome UI icons, thin outlines and solid shapes",
    ),
    CorpusSet(
        "fontawesome",
        "@fortawesome/fontawesome-free@7.3.1",
        "package/svgs/solid",
        "CC-BY-4.0 (Font Awesome Free icons, Fonticons, Inc.)",
        "monochrome solid icons",
    ),
)


@dataclass(frozen=True)
class Item:
    set: str
    name: str  # the file name inside its set
    svg: str


def fetch(cache: Path = CACHE) -> None:
    """``npm pack`` every set whose tarball is not cached yet."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = [s for s in SETS if not (cache / s.tarball).exists()]
    if missing and shutil.which("npm") is None:
        raise SystemExit("npm is needed to fetch the corpus (apt-get install npm)")
    for s in missing:
        subprocess.run(
            ["npm", "pack", "--silent", "--pack-destination", str(cache), s.package],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def rank(set_name: str, file_name: str) -> str:
    """The sort key of the subset rule: a hash of the name, blind to what the picture is."""
    return hashlib.sha256(f"{set_name}/{file_name}".encode()).hexdigest()


def load(per_set: int, cache: Path = CACHE) -> list[Item]:
    """The first ``per_set`` SVGs of every set by :func:`rank`, read from the cached tarballs."""
    items = []
    for s in SETS:
        with tarfile.open(cache / s.tarball) as tar:
            members = {
                Path(m.name).name: m
                for m in tar.getmembers()
                if m.isfile() and m.name.endswith(".svg") and str(Path(m.name).parent) == s.folder
            }
            chosen = sorted(members, key=lambda n, s=s: rank(s.name, n))[:per_set]
            for name in chosen:
                svg = tar.extractfile(members[name]).read().decode("utf-8")
                items.append(Item(s.name, name, svg))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--per-set", type=int, default=8, help="list this many of each set")
    args = parser.parse_args()
    fetch(args.cache)
    for item in load(args.per_set, args.cache):
        print(f"{item.set:16} {item.name}")


if __name__ == "__main__":
    main()
