"""One settings object for the whole service, read from ``SCENECRAFT_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ASSETS = Path(__file__).parents[1] / "assets"


class Limits(BaseSettings):
    """Hard limits enforced when params are validated, before any model loads."""

    model_config = SettingsConfigDict(env_prefix="SCENECRAFT_LIMIT_")

    max_side: int = Field(1024, description="largest width or height of any image, pixels")
    max_steps: int = Field(200, description="most diffusion / optimisation steps per stage")
    max_prompt_chars: int = Field(500, description="longest prompt or instruction")
    max_batch: int = Field(16, description="most images per job")
    max_paths: int = Field(2048, description="most SVG paths in a vectorisation")
    max_iters: int = Field(5000, description="most optimisation iterations")


class Settings(BaseSettings):
    """Every knob of scenecraft. Environment variables are ``SCENECRAFT_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="SCENECRAFT_", env_file=None)

    device: str = Field("auto", description="torch device: auto | cpu | cuda | cuda:N | mps")
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    world_model: str = Field(
        str(ASSETS / "shapes-sd"),
        description="diffusers folder or hub id (hub ids resolve from the local cache only)",
    )
    slate_model: str = Field(str(ASSETS / "slate"), description="SLATE checkpoint folder")
    detector: str = Field("shapes", description="in-loop detector backend: shapes | owlv2")
    detector_model: str = Field("", description="OWLv2 checkpoint folder or id")
    segmenter: str = Field("shapes", description="segmenter backend: shapes | sam")
    segmenter_model: str = Field("", description="SAM checkpoint folder or id")
    rasterizer: Literal["auto", "torch", "diffvg"] = "auto"
    redis_url: str = "redis://127.0.0.1:6379/0"
    artifacts: str = Field(
        "runs/artifacts", description="artifact store: a local folder or s3://bucket/prefix"
    )
    planner: Literal["offline", "openai"] = "offline"
    llm_base_url: str = Field(
        "", description="OpenAI-compatible endpoint, e.g. http://host:8000/v1"
    )
    llm_model: str = "gpt-4o"
    llm_api_key: str = ""
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 3
    api_keys: str = Field("", description="comma-separated bearer API keys the service accepts")
    limits: Limits = Field(default_factory=Limits)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings()
