"""Image losses: zero for identical images, larger for different ones, LPIPS offline behaviour."""

import pytest
import torch

from scenecraft.core.errors import InvalidParams, ModelNotFound
from scenecraft.vector.losses import LPIPSLoss, backbone_weights_file, l2, make_loss, ssim_loss


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(48, 48, 3, generator=gen)
    return a, (a + 0.2 * torch.rand(48, 48, 3, generator=gen)).clamp(0, 1)


@pytest.mark.parametrize("loss", [l2, ssim_loss], ids=["l2", "ssim"])
def test_loss_is_zero_for_identical_images_and_positive_otherwise(loss, images):
    a, b = images
    assert loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(a, b).item() > 1e-3


def test_ssim_works_on_images_smaller_than_its_window():
    a = torch.rand(8, 8, 3)
    assert ssim_loss(a, a).item() == pytest.approx(0.0, abs=1e-5)


def test_lpips_without_backbone_weights_names_the_file_and_folder(tmp_path):
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        expected = backbone_weights_file("vgg")
        assert expected == tmp_path / "checkpoints" / "vgg16-397923af.pth"
        with pytest.raises(ModelNotFound) as err:
            LPIPSLoss(net="vgg")
        assert "vgg16-397923af.pth" in str(err.value) and str(tmp_path / "checkpoints") in str(
            err.value
        )
    finally:
        torch.hub.set_dir(previous)


def test_lpips_code_path_with_random_backbone(images):
    a, b = images
    torch.manual_seed(0)  # random heads and backbone: a code-path check, not a metric
    loss = LPIPSLoss(net="alex", pretrained=False, pnet_rand=True)
    assert loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    x = b.clone().requires_grad_(True)
    value = loss(x, a)
    value.backward()
    assert value.item() != 0 and x.grad.abs().sum() > 0


def test_unknown_loss_is_refused_naming_the_choices():
    with pytest.raises(InvalidParams, match="l2, ssim, lpips"):
        make_loss("l1")
