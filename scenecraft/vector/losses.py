"""Image losses for SVG fitting: L2, SSIM (pytorch-msssim) and LPIPS (the ``lpips`` package).

All take images [H, W, 3] in [0, 1] (a render's RGB and the target) and return a scalar to
minimise. LPIPS needs torchvision's ImageNet backbone weights in the torch hub cache, which cannot
be downloaded on an offline machine: building it without them raises ``ModelNotFound`` naming
the file and the folder to put it in.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from einops import rearrange
from pytorch_msssim import ssim
from torch import Tensor

from scenecraft.core.errors import InvalidParams, ModelNotFound

Loss = Callable[[Tensor, Tensor], Tensor]
LOSSES = ("l2", "ssim", "lpips")


def _nchw(image: Tensor) -> Tensor:
    return rearrange(image, "h w c -> 1 c h w")


def l2(image: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over pixels and channels."""
    return ((image - target) ** 2).mean()


def ssim_loss(image: Tensor, target: Tensor) -> Tensor:
    """1 - SSIM (Gaussian window 11, or the largest odd size the image allows)."""
    side = min(image.shape[0], image.shape[1])
    win = min(11, side if side % 2 else side - 1)
    return 1 - ssim(_nchw(image), _nchw(target), data_range=1.0, size_average=True, win_size=win)


def backbone_weights_file(net: str) -> Path:
    """Where torchvision looks for the LPIPS backbone (torch hub cache / checkpoints / file)."""
    from torchvision.models import AlexNet_Weights, SqueezeNet1_1_Weights, VGG16_Weights

    weights = {"vgg": VGG16_Weights, "alex": AlexNet_Weights, "squeeze": SqueezeNet1_1_Weights}
    url = weights[net].IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]


class LPIPSLoss(torch.nn.Module):
    """LPIPS distance (lower = more alike) with a frozen network.

    ``pretrained`` loads lpips' own calibrated linear heads (shipped in the package);
    ``pnet_rand=True`` uses a random backbone, which only tests the code path.
    """

    def __init__(self, net: str = "vgg", pretrained: bool = True, pnet_rand: bool = False):
        super().__init__()
        import lpips

        if net not in ("vgg", "alex", "squeeze"):
            raise InvalidParams.single("loss.net", "LPIPS backbone must be vgg, alex or squeeze")
        if not pnet_rand and not (path := backbone_weights_file(net)).exists():
            raise ModelNotFound(
                f"LPIPS ({net}) needs the torchvision ImageNet backbone weights, which cannot be "
                f"downloaded here: put {path.name} into {path.parent}/ (or set TORCH_HOME)"
            )
        with warnings.catch_warnings():  # lpips calls torchvision's deprecated `pretrained=`
            warnings.simplefilter("ignore", UserWarning)
            self.model = lpips.LPIPS(
                net=net, pretrained=pretrained, pnet_rand=pnet_rand, verbose=False
            ).eval()
        self.model.requires_grad_(False)

    def forward(self, image: Tensor, target: Tensor) -> Tensor:
        to_lpips = lambda x: _nchw(x) * 2 - 1  # noqa: E731  lpips wants [-1, 1]
        return self.model(to_lpips(image), to_lpips(target)).mean()


def make_loss(name: str) -> Loss:
    """``l2`` | ``ssim`` | ``lpips`` -> loss function."""
    if name == "l2":
        return l2
    if name == "ssim":
        return ssim_loss
    if name == "lpips":
        return LPIPSLoss()
    raise InvalidParams.single("loss", f"must be one of {', '.join(LOSSES)}, not {name!r}")
