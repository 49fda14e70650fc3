"""Small CNN backbones (2.5D and 3D) that turn a crop into a feature vector.

Kept small on purpose: they train on a CPU in minutes on a few hundred crops. The architecture
is named and recorded with its input spec, so user weights of another shape are refused with a
clear message instead of loading silently wrong.
"""

from __future__ import annotations

from radsig._optional import require
from radsig.exceptions import ConfigError

torch = require("torch", "deep")
nn = torch.nn


def _block(conv, bn, cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv(cin, cout, 3, padding=1, bias=False), bn(cout), nn.ReLU(inplace=True),
                         conv(cout, cout, 3, padding=1, bias=False), bn(cout), nn.ReLU(inplace=True))


class Backbone(nn.Module):
    """Four conv blocks with max-pooling, global average pooling, a linear projection to ``n_features``."""

    def __init__(self, *, dims: int = 2, in_channels: int = 3, width: int = 16, n_features: int = 256):
        super().__init__()
        if dims not in (2, 3):
            raise ConfigError(f"backbone dims must be 2 or 3, got {dims}")
        conv, bn, pool = ((nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d) if dims == 2
                          else (nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d))
        chans = [in_channels, width, 2 * width, 4 * width, 8 * width]
        layers = []
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers += [_block(conv, bn, a, b), pool(2)]
        self.encoder = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)
        self.project = nn.Linear(chans[-1], n_features)
        self.config = {"dims": dims, "in_channels": in_channels, "width": width, "n_features": n_features}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.flatten(self.pool(self.encoder(x)), 1))


def build_backbone(config: dict) -> Backbone:
    """A backbone from its recorded config (``dims``, ``in_channels``, ``width``, ``n_features``)."""
    unknown = set(config) - {"dims", "in_channels", "width", "n_features"}
    if unknown:
        raise ConfigError(f"unknown backbone option(s) {sorted(unknown)}; "
                          "allowed: dims, in_channels, width, n_features")
    return Backbone(**config)
