"""IBSI chapter 2 compliance: phase-1 response maps and phase-2 feature values.

Phase 1: each test's filter (``params/ibsi2/phase1/<test>.yaml``) runs on its phantom on the
phantom's own grid, and complies when every voxel is within 1 % of the consensus map's range
(max − min) of the consensus map. Phase 2: each configuration's settings
(``params/ibsi2/phase2/<config>.yaml``) go through :func:`radsig.features.extract_case` on the
IBSI CT phantom; a feature complies when |value − reference| ≤ tolerance.

:func:`phase1`, :func:`phase2` and :func:`render_markdown` are shared by the tests
(``tests/preprocess/test_ibsi2_filters.py``, ``tests/features/test_ibsi2_phase2.py``) and by
``bench/ibsi2.py``, which writes ``docs/ibsi2.md``; the tests check that the document lists
the values they measure (:func:`doc_rows`).
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: phase-1 test → phantom (IBSI-2 reference data README)
PHASE1 = {
    "1a1": "checkerboard", "1a2": "checkerboard", "1a3": "checkerboard", "1a4": "checkerboard",
    "1b1": "impulse", "2a": "impulse", "2b": "checkerboard", "2c": "checkerboard",
    "3a1": "impulse", "3a2": "impulse", "3a3": "impulse", "3b1": "checkerboard",
    "3b2": "checkerboard", "3b3": "checkerboard", "3c1": "checkerboard", "3c2": "checkerboard",
    "3c3": "checkerboard", "4a1": "impulse", "4a2": "impulse", "4b1": "sphere", "4b2": "sphere",
    "5a1": "impulse", "5a2": "impulse", "6a1": "sphere", "6a2": "sphere", "7a1": "checkerboard",
    "7a2": "checkerboard", "8a1": "checkerboard", "8a2": "checkerboard", "8a3": "checkerboard",
    "9a": "impulse", "9b1": "sphere", "10b1": "pattern_1",
}
#: tests without a consensus map: phantom, and what radsig's settings file computes
NO_CONSENSUS = {
    "9b2": ("sphere", "Riesz-transformed LoG steered by the local structure tensor: map "
                      "produced; order (0, 2, 0) in the local frame and a 6 mm window are "
                      "guesses (the test's are not known)"),
    "10a": ("impulse", "Riesz-transformed Simoncelli, level 1, order (1, 0, 0): map produced"),
    "10b2": ("pattern_1", "Riesz-transformed Simoncelli steered by the local structure tensor: "
                          "map produced; order (0, 2, 0) in the local frame and a 4 mm window "
                          "are guesses"),
}
PHASE1_RULE = 1.0  # % of the reference map's range
PHASE2_CONFIGS = tuple(f"{n}{d}" for n in range(1, 10) for d in "AB")


@dataclass
class MapResult:
    test: str
    phantom: str
    filter: str
    deviation_pct: float | None  # None: no consensus map
    seconds: float
    shape_ok: bool
    cpu_seconds: float = float("nan")

    @property
    def passed(self) -> bool | None:
        return None if self.deviation_pct is None else self.deviation_pct <= PHASE1_RULE


@dataclass
class FeatureResult:
    config: str
    feature: str
    tag: str
    value: float
    reference: float | None
    tolerance: float | None

    @property
    def passed(self) -> bool | None:
        if self.reference is None:
            return None
        return bool(math.isfinite(self.value)
                    and abs(self.value - self.reference) <= self.tolerance)


def _describe(spec) -> str:
    data = spec.model_dump()
    kind = data.pop("filter")
    return kind + " (" + ", ".join(f"{k} {v}" for k, v in data.items() if v is not None) + ")"


def phase1_map(test: str, data: Path, params: Path):
    """(response map as a SimpleITK image, filter name, description, (wall, CPU) seconds)
    of one test."""
    import SimpleITK as sitk

    from radsig.config import load_settings
    from radsig.preprocess.ibsi2_filters import filter_image

    phantom = PHASE1.get(test) or NO_CONSENSUS[test][0]
    image = sitk.ReadImage(str(Path(data) / "ibsi2/phase1/phantoms" / phantom / "image.nii.gz"))
    settings = load_settings(Path(params) / "ibsi2/phase1" / f"{test}.yaml")
    (name, spec), = settings.ibsi2_filters.items()
    start, cpu = time.perf_counter(), time.process_time()
    response, _ = filter_image(image, settings)
    return (response, name, _describe(spec),
            (time.perf_counter() - start, time.process_time() - cpu))


def phase1(data: Path, params: Path, tests=None) -> list[MapResult]:
    """Phase-1 results of *tests* (default: the 33 with a consensus map, then the three
    without one)."""
    import SimpleITK as sitk

    out = []
    for test in tests or (*PHASE1, *NO_CONSENSUS):
        response, _, desc, seconds = phase1_map(test, data, params)
        if test in PHASE1:
            ref = sitk.ReadImage(str(Path(data) / "ibsi2/phase1/reference_maps" /
                                     f"{test}.nii.gz"))
            r = sitk.GetArrayFromImage(ref).astype(np.float64)
            m = sitk.GetArrayFromImage(response).astype(np.float64)
            shape_ok = (m.shape == r.shape and response.GetSpacing() == ref.GetSpacing()
                        and response.GetOrigin() == ref.GetOrigin())
            dev = float(np.abs(m - r).max() / (r.max() - r.min()) * 100.0) if shape_ok \
                else float("inf")
        else:
            m = sitk.GetArrayFromImage(response)
            shape_ok = bool(np.isfinite(m).all() and np.abs(m).max() > 0)
            dev = None
        out.append(MapResult(test, PHASE1.get(test) or NO_CONSENSUS[test][0], desc, dev,
                             seconds[0], shape_ok, seconds[1]))
    return out


def reference_values(data: Path) -> list[dict]:
    with open(Path(data) / "ibsi2/phase2/reference_values.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def phase2_config(config: str, data: Path, params: Path) -> tuple[list[FeatureResult], float,
                                                                  str]:
    """(the 18 feature results, (wall, CPU) seconds of the extraction, filter description)
    of a config."""
    from radsig.config import load_settings
    from radsig.features import extract_case

    settings = load_settings(Path(params) / "ibsi2/phase2" / f"{config}.yaml")
    ct = Path(data) / "ibsi/ct_phantom_pat1"
    start, cpu = time.perf_counter(), time.process_time()
    table = extract_case(ct / "image.nii.gz", ct / "mask.nii.gz", settings)
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    filters = settings.ibsi2_filters
    prefix = f"{next(iter(filters))}_" if filters else ""
    desc = _describe(next(iter(filters.values()))) if filters else "none"
    values = dict(zip(table["feature"], table["value"], strict=True))
    out = []
    for row in reference_values(data):
        if row["config"] != config:
            continue
        ref = float(row["value"]) if row["value"] else None
        tol = float(row["tolerance"]) if row["tolerance"] else None
        out.append(FeatureResult(config, row["feature"], row["ibsi_code"],
                                 float(values.get(prefix + row["ibsi_code"], np.nan)), ref, tol))
    return out, seconds, desc


# --- the document ----------------------------------------------------------------------------

_BOUNDARY_TABLE = """\
| IBSI-2 boundary condition | settings (`boundary:`) | padding (scipy.ndimage mode / numpy.pad mode) |
|---|---|---|
| zero padding | `constant` | `constant` (0) / `constant` |
| nearest value | `nearest` | `nearest` / `edge` |
| periodic | `periodic` | `wrap` / `wrap` |
| mirror (edge voxel repeated) | `mirror` | `reflect` / `symmetric` |
"""

_ROTATION_TABLE = """\
| IBSI-2 choice | settings | what radsig does |
|---|---|---|
| 2D / 3D | `dimensions: 2D` / `3D` | 2D filters work in the axial planes (constant z); 3D on the volume |
| rotation invariance, 3D | `rotation_invariance: true` (`laws`, `wavelet`) | pooled over the 24 right-angle rotations of the cube, each response turned back; for separable filters the kernels are turned instead of the image (same numbers), identical rotations computed once |
| rotation invariance, 2D | same, with `dimensions: 2D` | the 4 in-plane right-angle rotations |
| pooling | `pooling: max` (Laws default), `mean` (wavelet default), `min` | over the rotated responses; the Laws energy map (`energy_delta: δ`) is taken after pooling |
| Gabor orientation | `theta_deg`, `rotation_invariance: true` + `theta_step_deg` | modulus averaged over θ = θ₀ + k·step over the full turn; `dimensions: 3D` = the 2-D kernel in the axial, coronal and sagittal planes, averaged |
| Simoncelli / Riesz | `filter: simoncelli` (`level`, `riesz_order`), `filter: log` + `riesz_order` | isotropic: no rotation pooling; Fourier domain on the centred frequency grid; `periodic` needs no padding, other boundaries pad each axis by half its size |
"""


_CONVENTIONS = """\
- Axis letters are read x, y, z (the image's i, j, k): Laws `E5L5S5` is E5 along x, wavelet
  `LHL` is high-pass along y, Riesz order (1, 0, 0) acts along x. `2D` filters work in the axial
  planes (constant z).
- Kernels are applied by convolution (flipped). σ and λ are in mm, converted with each axis'
  spacing; supports and energy windows are in voxels.
- LoG: Gaussian second derivatives per voxel, summed over the filtered axes, truncated at
  `truncate` σ, no σ² normalisation (the reference maps' convention).
- Laws: 1-D kernels divided by their Euclidean norm; energy map = mean of |response| over a
  (2δ+1)-voxel window, after rotation pooling.
- Gabor: complex kernel exp(−(x′² + γ²y′²)/(2σ²))·exp(i2πx′/λ), θ from +x towards +y, modulus;
  computed by FFT on the slice padded with the boundary condition; θ and θ + π give the same
  modulus, so a full turn of angles costs half.
- Separable wavelets: undecimated; PyWavelets' decomposition filters; level n filters the
  all-low-pass map of level n−1 with filters upsampled by 2^(n−1) (zeros after each tap).
- Simoncelli and Riesz: Fourier domain, frequencies on the centred grid of step 2/(n−1) per
  axis; Riesz multiplier (−i)^L √(L!/Π l_d!) Π (ω_d/‖ω‖)^(l_d); the Riesz transform of a LoG
  response pads it by half its size with the boundary condition. `riesz_align_sigma_mm` steers
  the order by the local structure tensor (eigenframe of the Gaussian-windowed outer product of
  the first-order Riesz components).
- Phase 2 (`params/ibsi2/phase2/`): `A` = no interpolation, filters in the axial planes; `B` =
  cubic B-spline resampling to 1 mm, intensities rounded, mask interpolated linearly and kept at
  ≥ 0.5; re-segmentation to [−1000, 400] HU on the unfiltered image; the filter runs on the whole
  image (`crop.whole_image: true`); the 18 intensity statistics of the response map in the ROI.
  Simoncelli configurations use the periodic boundary (no padding).
- Cropping: without `crop.whole_image`, the crop around the ROI is widened to each filter's
  reach (mean, LoG, Laws, Gabor, wavelets: the ROI's filtered values are those of the whole
  image); Simoncelli and Riesz transforms, defined on the whole field of view, keep the whole
  image.
"""


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if value == 0 or not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def render_markdown(maps: list[MapResult], features: list[FeatureResult],
                    config_seconds: dict[str, tuple[float, float]],
                    config_filters: dict[str, str],
                    machine: str) -> str:
    """docs/ibsi2.md from phase-1 and phase-2 results."""
    lines = [
        "# IBSI-2 compliance (convolutional filters)",
        "",
        "Generated by `PYTHONPATH=src python bench/ibsi2.py` from the same computations as the "
        "tests (`radsig.features.ibsi2_compliance`); the tests "
        "(`tests/preprocess/test_ibsi2_filters.py`, `tests/features/test_ibsi2_phase2.py`) "
        "check the maps and values against the references and that the deviations, values and "
        "pass/fail written here are what the code gives today (times are not checked). "
        "Reference data: `tests/data/ibsi2/` (see its README: the phantoms, the 33 consensus "
        "maps, the phase-2 reference values and tolerances).",
        "",
        "How to use the filters: an entry of `filters:` in an IBSI settings file with "
        "`filter: mean | log | laws | gabor | wavelet | simoncelli` (see "
        "`src/radsig/config/ibsi2.py` and `params/ibsi2/`). `radsig filter IMAGE --params FILE "
        "--out MAP.nii.gz` writes one response map; `radsig extract` / `cohort extract` / "
        "`study` compute features of each filter's response, named `<entry>_<feature>`.",
        "",
        "## Boundary conditions",
        "",
        _BOUNDARY_TABLE,
        "## Dimensions and rotation invariance",
        "",
        _ROTATION_TABLE,
        "## Conventions",
        "",
        _CONVENTIONS,
        "## Phase 1: response maps",
        "",
        f"Rule: every voxel within {PHASE1_RULE:g} % of the consensus map's range. Time: "
        f"the filter alone, wall clock (CPU time of all threads in brackets), {machine}.",
        "",
        "| test | phantom | filter (settings) | max deviation (% of range) | result | "
        "time (s) |",
        "|---|---|---|---|---|---|",
    ]
    n_pass = 0
    total_time = 0.0
    for r in maps:
        if r.deviation_pct is None:
            result, dev = f"no consensus map: {NO_CONSENSUS[r.test][1]}", "–"
        else:
            result = "PASS" if r.passed else "FAIL"
            n_pass += bool(r.passed)
            dev = f"{r.deviation_pct:.4f}"
        total_time += r.seconds
        lines.append(f"| {r.test} | {r.phantom} | {r.filter} | {dev} | {result} | "
                     f"{r.seconds:.3f} ({r.cpu_seconds:.3f}) |")
    for test, (phantom, why) in NO_CONSENSUS.items():
        if not any(r.test == test for r in maps):
            lines.append(f"| {test} | {phantom} | – | – | no consensus map: {why} | – |")
    n_maps = sum(r.deviation_pct is not None for r in maps)
    consensus_time = sum(r.seconds for r in maps if r.deviation_pct is not None)
    consensus_cpu = sum(r.cpu_seconds for r in maps if r.deviation_pct is not None)
    lines += ["", f"**{n_pass} of {n_maps} consensus maps pass.** Time for the {n_maps} "
              f"consensus maps: {consensus_time:.1f} s wall ({consensus_cpu:.1f} s CPU); all "
              f"{len(maps)} maps: {total_time:.1f} s wall.", ""]
    lines += ["## Phase 2: intensity statistics of filtered CT phantom images", "",
              "Rule: |value − reference| ≤ tolerance. Time: the whole extraction of a "
              "configuration (reading, resampling, filter, features), wall clock (CPU time in "
              f"brackets), {machine}.", "",
              "| config | filter (settings) | features passing | time (s) |", "|---|---|---|---|"]
    by_config: dict[str, list[FeatureResult]] = {}
    for f in features:
        by_config.setdefault(f.config, []).append(f)
    n_ok = n_ref = 0
    for config, rows in by_config.items():
        ok = sum(bool(f.passed) for f in rows)
        refs = sum(f.reference is not None for f in rows)
        n_ok += ok
        n_ref += refs
        wall, cpu = config_seconds.get(config, (float("nan"), float("nan")))
        lines.append(f"| {config} | {config_filters.get(config, '')} | {ok} / {refs} | "
                     f"{wall:.1f} ({cpu:.1f}) |")
    walls = sum(v[0] for v in config_seconds.values())
    cpus = sum(v[1] for v in config_seconds.values())
    lines += ["", f"**{n_ok} of {n_ref} reference values pass.** Time for all "
              f"{len(by_config)} configurations: {walls:.1f} s wall ({cpus:.1f} s CPU).", "",
              "| config | feature | tag | radsig | reference ± tolerance | result |",
              "|---|---|---|---|---|---|"]
    for f in features:
        ref = "no reference" if f.reference is None else \
            f"{_fmt(f.reference)} ± {_fmt(f.tolerance)}"
        result = "–" if f.passed is None else ("PASS" if f.passed else "FAIL")
        lines.append(f"| {f.config} | {f.feature} | {f.tag} | {_fmt(f.value, 6)} | {ref} | "
                     f"{result} |")
    lines.append("")
    return "\n".join(lines)


def doc_rows(text: str, first_cell: set[str]) -> dict[tuple[str, ...], list[str]]:
    """Rows of the Markdown tables in *text* whose first cell is in *first_cell*, keyed by
    their first cell (phase-1 tables) or first two cells (phase-2 feature table)."""
    out: dict[tuple[str, ...], list[str]] = {}
    for line in text.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in first_cell:
            key = (cells[0], cells[2]) if len(cells) == 6 and cells[2].startswith("stat_") \
                else (cells[0],)
            out[key] = cells
    return out
