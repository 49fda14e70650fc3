"""Processing steps of IBSI configurations A–E against ``diagnostic_values.csv``.

Image and mask sizes, bounding boxes, voxel counts and intensities after loading,
interpolation and re-segmentation, compared by the IBSI rounding rule.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from radsig.config import load_settings
from radsig.features.compliance import ibsi_match
from radsig.io import read_image, read_mask
from radsig.preprocess.diagnostics import processing_diagnostics

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def diagnostics(shared):
    phantom = shared / "ibsi" / "ct_phantom_pat1"
    image = read_image(phantom / "image.nii.gz")
    mask = read_mask(phantom / "mask.nii.gz", image)
    cache = {}

    def get(config: str) -> dict[str, float]:
        if config not in cache:
            settings = load_settings(REPO / "params" / "ibsi" / f"config_{config.lower()}.yaml")
            cache[config] = processing_diagnostics(image, mask, settings)
        return cache[config]

    return get


@pytest.mark.parametrize("config", list("ABCDE"))
def test_diagnostic_values(config, diagnostics, shared):
    with (shared / "ibsi" / "diagnostic_values.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["config"] == config]
    assert len(rows) == 60
    measured = diagnostics(config)
    failures = [f"{r['tag']}: measured {measured.get(r['tag'])}, reference {r['value']} ± "
                f"{r['tolerance']}" for r in rows
                if not ibsi_match(measured.get(r["tag"], float("nan")), r["value"],
                                  r["tolerance"])]
    assert failures == []
