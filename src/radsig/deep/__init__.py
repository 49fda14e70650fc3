"""radsig.deep: CNN features of ROI-centred crops (optional extra ``radsig[deep]``, PyTorch CPU).

Weights come from a file the user supplies, or are trained on the study's training crops
(self-supervised contrastive, or supervised fine-tuning); nothing is downloaded.
"""

from __future__ import annotations

from radsig.deep.crops import CropSpec, roi_crop

__all__ = ["CropSpec", "roi_crop", "Backbone", "build_backbone", "deep_features", "pool_by_patient",
           "train_self_supervised", "train_supervised", "save_weights", "load_weights", "load_user_weights"]


def __getattr__(name):  # torch is imported only when a network is actually used
    if name in {"Backbone", "build_backbone"}:
        from radsig.deep import backbones

        return getattr(backbones, name)
    if name in {"deep_features", "pool_by_patient"}:
        from radsig.deep import extract

        return getattr(extract, name)
    if name in {"train_self_supervised", "train_supervised"}:
        from radsig.deep import train

        return getattr(train, name)
    if name in {"save_weights", "load_weights", "load_user_weights"}:
        from radsig.deep import weights

        return getattr(weights, name)
    raise AttributeError(name)
