"""``bench/world_model_train.py`` times real UNet training steps of the world model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from scenecraft.models.world_model.tiny import TINY

SCRIPT = Path(__file__).parents[2] / "bench" / "world_model_train.py"


def test_world_model_training_bench_times_a_step_of_the_tiny_architecture():
    spec = importlib.util.spec_from_file_location("bench_world_model_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    row = module.bench(TINY, batch=2, repeat=1, scenes=16)
    assert row["batch"] == 2 and len(row["step_seconds"]) == 1
    assert row["seconds_per_step"] > 0 and row["samples_per_s"] > 0
