"""Deep features: determinism, self-supervised features that carry a planted signal, safe weight files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch  # radsig[deep]; the test extra installs it: a missing one fails

from radsig.deep import CropSpec, roi_crop  # noqa: E402
from radsig.deep.backbones import Backbone  # noqa: E402
from radsig.deep.extract import deep_features, pool_by_patient  # noqa: E402
from radsig.deep.train import train_self_supervised  # noqa: E402
from radsig.deep.weights import load_user_weights, load_weights, save_weights  # noqa: E402
from radsig.exceptions import ModelFileError  # noqa: E402


def _case(seed: int, inflamed: bool, shape=(20, 48, 48)):
    """CT-like tumour whose texture is coarse and heterogeneous when 'inflamed'."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.indices(shape).astype(float)
    c = [(s - 1) / 2 + rng.uniform(-2, 2) for s in shape]
    r = rng.uniform(9, 13)
    ball = ((zz - c[0]) * 2.5) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r**2
    img = rng.normal(0, 15, shape)
    tex = rng.normal(0, 1, shape)
    if inflamed:
        from scipy.ndimage import gaussian_filter
        tex = gaussian_filter(tex, 1.5) * 6
    img[ball] += 60 + 60 * tex[ball]
    image = sitk.GetImageFromArray(img.astype(np.float32))
    image.SetSpacing((0.8, 0.8, 2.0))
    mask = sitk.GetImageFromArray(ball.astype(np.uint8))
    mask.CopyInformation(image)
    return image, mask


SPEC = CropSpec(size_mm=40.0, n_voxels=32, modality="CT", window=(-100.0, 250.0))


def test_crop_shape_and_range():
    image, mask = _case(0, True)
    crop = roi_crop(image, mask, SPEC)
    assert crop.shape == (3, 32, 32) and crop.dtype == np.float32
    assert 0.0 <= crop.min() and crop.max() <= 1.0
    cube = roi_crop(image, mask, CropSpec(size_mm=40.0, n_voxels=16, mode="3d"))
    assert cube.shape == (1, 16, 16, 16)


def test_same_crop_same_vector_across_runs_and_processes(tmp_path):
    torch.manual_seed(0)
    model = Backbone(dims=2, in_channels=3, width=8, n_features=32).eval()
    save_weights(model, SPEC, tmp_path / "w")
    image, mask = _case(1, False)
    crop = roi_crop(image, mask, SPEC)[None]
    np.save(tmp_path / "crop.npy", crop)
    a = deep_features(model, crop)
    b = deep_features(load_weights(tmp_path / "w")[0], crop)
    np.testing.assert_array_equal(a, b)
    script = textwrap.dedent(f"""
        import numpy as np
        from radsig.deep.weights import load_weights
        from radsig.deep.extract import deep_features
        m = load_weights(r"{tmp_path / 'w'}")[0]
        np.save(r"{tmp_path / 'other.npy'}", deep_features(m, np.load(r"{tmp_path / 'crop.npy'}")))
    """)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    np.testing.assert_array_equal(a, np.load(tmp_path / "other.npy"))


@pytest.mark.slow
def test_self_supervised_features_beat_chance_on_held_out_cases():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    labels = np.array([i % 2 for i in range(120)])
    crops = np.stack([roi_crop(*_case(100 + i, bool(y)), SPEC) for i, y in enumerate(labels)])
    train, test = slice(0, 80), slice(80, 120)
    torch.set_num_threads(1)
    model = Backbone(dims=2, in_channels=3, width=8, n_features=32)
    record = train_self_supervised(model, crops[train], epochs=6, batch_size=20, seed=0)
    assert record["loss"][-1] < record["loss"][0]
    feats = deep_features(model, crops)
    clf = LogisticRegression(C=0.1, max_iter=2000).fit(feats[train], labels[train])
    auc = roc_auc_score(labels[test], clf.decision_function(feats[test]))
    assert auc >= 0.75


def test_wrong_architecture_is_refused(tmp_path):
    small = Backbone(dims=2, in_channels=3, width=8, n_features=32)
    torch.save(small.state_dict(), tmp_path / "user.pt")
    with pytest.raises(ModelFileError, match="do not fit the backbone"):
        load_user_weights(tmp_path / "user.pt", {"dims": 2, "in_channels": 3, "width": 16, "n_features": 256}, SPEC)
    model, spec, meta = load_user_weights(tmp_path / "user.pt", small.config, SPEC)
    assert meta["kind"] == "state_dict" and meta["backbone"] == small.config
    scripted = torch.jit.script(small.eval())
    scripted.save(str(tmp_path / "user_ts.pt"))
    _, _, meta = load_user_weights(tmp_path / "user_ts.pt", small.config, SPEC)
    assert meta["kind"] == "torchscript"


def test_tampered_npz_refused(tmp_path):
    model = Backbone(dims=2, in_channels=3, width=8, n_features=16)
    side = save_weights(model, SPEC, tmp_path / "w")
    data = json.loads(side.read_text())
    data["sha256"] = "0" * 64
    side.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load_weights(tmp_path / "w")


def test_pool_by_patient_mean():
    feats = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 10.0]])
    pooled = pool_by_patient(feats, ["a", "a", "b"])
    assert pooled.loc["a"].tolist() == [2.0, 3.0] and pooled.loc["b"].tolist() == [10.0, 10.0]
