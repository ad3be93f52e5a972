"""Content-addressed artifact storage: blobs are stored once under their sha256.

``ArtifactStore`` is the backend (a local folder by default; other backends implement the same
three methods). ``JobArtifacts`` is what a pipeline sees as ``ctx.artifacts``: a job-scoped map
from artifact names to blobs.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ArtifactRef:
    name: str
    digest: str  # sha256 hex of the bytes
    media_type: str
    size: int

    def to_dict(self) -> dict:
        return asdict(self)


class ArtifactStore(Protocol):
    def put_blob(self, data: bytes) -> str: ...

    def get_blob(self, digest: str) -> bytes: ...

    def has_blob(self, digest: str) -> bool: ...


class LocalArtifactStore:
    """Blobs under ``root/sha256/ab/abcdef...``, written atomically (temp file + rename)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / "sha256" / digest[:2] / digest

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return digest

    def get_blob(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def has_blob(self, digest: str) -> bool:
        return self._path(digest).exists()


def open_store(location: str) -> ArtifactStore:
    """The store named by a settings value: ``s3://bucket/prefix`` or a local folder."""
    if location.startswith("s3://"):
        from scenecraft.pipelines.s3store import S3ArtifactStore  # boto3 only when used

        return S3ArtifactStore.from_url(location)
    return LocalArtifactStore(location)


class JobArtifacts:
    """The artifacts of one job: ``put(name, bytes, media_type)``; names are unique per job."""

    def __init__(self, store: ArtifactStore):
        self.store = store
        self.refs: dict[str, ArtifactRef] = {}

    def put(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        if not NAME_RE.match(name):
            raise ValueError(f"artifact name {name!r} must match {NAME_RE.pattern}")
        ref = ArtifactRef(name, self.store.put_blob(data), media_type, len(data))
        self.refs[name] = ref
        return ref

    def get(self, name: str) -> bytes:
        return self.store.get_blob(self.refs[name].digest)

    def __contains__(self, name: str) -> bool:
        return name in self.refs
