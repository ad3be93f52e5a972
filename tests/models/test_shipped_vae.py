"""The shipped VAE reconstructs validation scenes so the detector reads the same objects."""

from __future__ import annotations

import json

import torch

from scenecraft.core.settings import ASSETS

SHIPPED = ASSETS / "shapes-sd-vae"


def test_shipped_vae_keeps_what_the_detector_reads_on_24_validation_scenes():
    from diffusers import AutoencoderKL

    from scenecraft.training.world_model import vae_check

    torch.set_num_threads(2)
    vae = AutoencoderKL.from_pretrained(SHIPPED).eval()
    assert vae.config.latent_channels == 8
    check = vae_check(vae, 24, 128)
    assert check["detector_agreement"] >= 0.9
    assert check["psnr"] >= 35


def test_a_run_started_from_the_shipped_vae_skips_both_vae_stages(tmp_path):
    from dataclasses import replace

    from scenecraft.models.world_model.architecture import WorldModelConfig
    from scenecraft.training.world_model import TrainConfig, train

    # the shipped VAE with a tiny text encoder and UNet: only the UNet stage runs
    cfg = replace(
        WorldModelConfig(),
        text_hidden=32,
        text_layers=1,
        text_heads=2,
        unet_channels=(32, 32, 32),
        unet_head_dim=8,
    )
    tc = TrainConfig(n_latents=4, unet_steps=1, batch=2, eval_every=10, checkpoint_s=0, log_every=1)
    out = tmp_path / "run"
    model = train(out, config=cfg, train_config=tc, vae_from=SHIPPED)
    assert not (out / "vae_state.pt").exists()
    stages = [json.loads(x)["stage"] for x in (out / "evals.jsonl").read_text().splitlines()]
    assert stages[:2] == ["vae_done", "decoder_done"]
    card = (model / "README.md").read_text()
    assert "the VAE came finished from" in card and "NVIDIA H200" in card
    assert (model / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == (
        SHIPPED / "diffusion_pytorch_model.safetensors"
    ).read_bytes()


def test_a_vae_folder_without_its_provenance_is_refused_naming_what_is_missing(tmp_path):
    from typer.testing import CliRunner

    from scenecraft.cli import app

    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "config.json").write_text("{}")
    args = ["train", "world-model", "--out", str(tmp_path / "run"), "--vae-from"]
    result = CliRunner().invoke(app, [*args, str(tmp_path / "vae")])
    assert result.exit_code == 2
    assert "diffusion_pytorch_model.safetensors" in result.output
    assert "provenance.json" in result.output
