"""Fixtures shared across the suite: tiny random-weight diffusers checkpoints saved offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scenecraft.models.world_model.tiny import save_tiny_pipeline  # noqa: E402


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def tiny_sd_plain(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd-plain"), gligen=False)


@pytest.fixture
def world_model(tiny_sd, monkeypatch) -> Path:
    """Settings point at the tiny random GLIGEN checkpoint (plumbing tests of sld / svgcraft)."""
    from scenecraft.settings import get_settings

    monkeypatch.setenv("SCENECRAFT_WORLD_MODEL", str(tiny_sd))
    get_settings.cache_clear()
    yield tiny_sd
    get_settings.cache_clear()
