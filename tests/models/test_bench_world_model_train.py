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
    row = module.bench(TINY, batch=2, repeat=2, scenes=16)
    # both kinds of step are timed, each as often as asked, and mixed as training mixes them
    assert row["batch"] == 2
    assert len(row["plain_step_seconds"]) == len(row["grounded_step_seconds"]) == 2
    mixed = row["p_plain"] * row["plain_seconds"] + (1 - row["p_plain"]) * row["grounded_seconds"]
    assert row["seconds_per_step"] == mixed > 0
    assert row["samples_per_s"] == 2 / mixed
