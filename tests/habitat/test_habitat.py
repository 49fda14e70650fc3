"""Habitats on synthetic tumours with planted subregions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.habitat import HabitatClusterer, fit_habitats, habitat_case, habitat_features, label_map


def _tumour(seed: int, n_regions: int = 2, contrast: float = 80.0, shape=(24, 40, 40)):
    """A ball split into *n_regions* angular sectors of different mean and texture; planted labels."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.indices(shape).astype(float)
    c = [(s - 1) / 2 for s in shape]
    ball = ((zz - c[0]) * 1.6) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= 15.0**2
    angle = (np.arctan2(yy - c[1], xx - c[2]) + np.pi + rng.uniform(0, 2 * np.pi)) % (2 * np.pi)
    planted = np.minimum((angle / (2 * np.pi) * n_regions).astype(int), n_regions - 1)
    img = rng.normal(0, 5, shape)
    for r in range(n_regions):
        sel = ball & (planted == r)
        img[sel] += 20 + contrast * r + rng.normal(0, 3 + 6 * r, sel.sum())
    image = sitk.GetImageFromArray(img.astype(np.float32))
    image.SetSpacing((1.0, 1.0, 1.6))
    mask = sitk.GetImageFromArray(ball.astype(np.uint8))
    mask.CopyInformation(image)
    return {"CT": image}, mask, np.where(ball, planted, -1)


def _best_dice(found: np.ndarray, planted: np.ndarray, k: int) -> float:
    """Mean Dice over planted regions after matching each to its best habitat."""
    dices = []
    for r in range(planted.max() + 1):
        p = planted == r
        dices.append(max(2 * (p & (found == h)).sum() / (p.sum() + (found == h).sum()) for h in range(k)))
    return float(np.mean(dices))


@pytest.fixture(scope="module")
def fitted():
    train = [_tumour(s)[:2] for s in range(4)]
    return fit_habitats(train, k_range=(2, 3, 4), n_supervoxels=10, random_state=0)


def test_habitats_recover_planted_subregions(fitted):
    assert fitted.k_ == 2  # silhouette picks the planted number of habitats
    for seed in (10, 11):  # tumours never seen in training
        images, mask, planted = _tumour(seed)
        found = sitk.GetArrayFromImage(label_map(images, mask, fitted)).astype(int) - 1
        assert _best_dice(found, planted, fitted.k_) >= 0.8


def test_gmm_variant_recovers_subregions():
    train = [_tumour(s)[:2] for s in range(4)]
    model = fit_habitats(train, k_range=(2, 3), method="gmm", n_supervoxels=10)
    images, mask, planted = _tumour(20)
    found = sitk.GetArrayFromImage(label_map(images, mask, model)).astype(int) - 1
    assert _best_dice(found, planted, model.k_) >= 0.8


def test_ith_increases_with_planted_heterogeneity():
    scores = []
    for n_regions in (1, 2, 4, 8):
        _, _, planted = _tumour(5, n_regions=n_regions)
        feats = habitat_features(planted, max(n_regions, 1))
        scores.append((feats["ith_score"], feats["ith_spatial"], feats["ith_entropy"]))
    for a, b in zip(scores, scores[1:], strict=False):
        assert all(x < y for x, y in zip(a, b, strict=True))
    assert scores[0] == (0.0, 0.0, 0.0)


def test_habitat_case_features_and_map(fitted, tmp_path):
    images, mask, _ = _tumour(30)
    feats = habitat_case(images, mask, fitted, write_map=tmp_path / "hab.nii.gz")
    assert feats["hab0_fraction"] + feats["hab1_fraction"] == pytest.approx(1.0)
    assert feats["hab1_CT_stat_mean"] > feats["hab0_CT_stat_mean"]  # habitats ordered by intensity
    written = sitk.ReadImage(str(tmp_path / "hab.nii.gz"))
    assert set(np.unique(sitk.GetArrayFromImage(written))) == {0, 1, 2}


def test_model_roundtrip_json(fitted):
    data = json.loads(json.dumps(fitted.to_dict()))
    again = HabitatClusterer.from_dict(data)
    images, mask, _ = _tumour(31)
    a = sitk.GetArrayFromImage(label_map(images, mask, fitted))
    b = sitk.GetArrayFromImage(label_map(images, mask, again))
    np.testing.assert_array_equal(a, b)
