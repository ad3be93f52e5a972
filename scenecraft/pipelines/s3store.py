"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...): the store every machine
of a multi-machine deployment reaches. ``SCENECRAFT_ARTIFACTS=s3://bucket/prefix``.

Credentials, region and endpoint come from boto3's usual configuration (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` for a non-AWS server).
Blobs are stored once under their sha256, like the local store.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

MISSING = ("404", "NoSuchKey", "NotFound")


class S3ArtifactStore:
    """Blobs at ``s3://bucket/prefix/sha256/ab/abcdef...``."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3")

    @classmethod
    def from_url(cls, url: str) -> S3ArtifactStore:
        u = urlsplit(url)
        if u.scheme != "s3" or not u.netloc:
            raise ValueError(f"not an s3://bucket/prefix location: {url!r}")
        return cls(u.netloc, u.path)

    def _key(self, digest: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        rel = f"sha256/{digest[:2]}/{digest}"
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def put_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if not self.has_blob(digest):
            self.client.put_object(Bucket=self.bucket, Key=self._key(digest), Body=data)
        return digest

    def get_blob(self, digest: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(digest))
        except ClientError as e:
            if e.response["Error"]["Code"] in MISSING:
                raise FileNotFoundError(f"no blob {digest} in s3://{self.bucket}") from None
            raise
        return obj["Body"].read()

    def has_blob(self, digest: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(digest))
        except ClientError as e:
            if e.response["Error"]["Code"] in MISSING:
                return False
            raise
        return True
