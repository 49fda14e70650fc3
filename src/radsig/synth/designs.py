"""Synthetic cohorts shaped like five published immunotherapy radiomics designs (``examples/``).

Each design lists its cohorts (names, roles, sizes as in the paper), image modalities, endpoints
and extra data (RNA-seq expression, IHC markers, clinical risk scores, several lesions per
patient). One generator serves all of them; what is planted is the same everywhere:

* a hidden tumour-immune activity ``z ~ N(0, 1)`` drives every outcome and biology column:
  TME phenotype (``z > 0.3`` → inflamed), PD-L1 status, CD274 / immune-gene expression,
  IHC densities (CD3, CD8, CD45RO, PD-L1 up with ``z``; CD163 down), response, OS and PFS;
* the images follow an image latent ``s = z + noise`` through :func:`radsig.synth.phantoms.make_lesion`
  (texture, mean intensity, PET uptake). With ``negative_control=True`` the images (same files,
  same seed) are unchanged but ``z`` is redrawn independently of ``s``, so no image feature carries
  information about any outcome while clinical and biology columns keep their links to ``z``;
* clinical factors (ECOG, stage, a clinical risk score) add their own, smaller, prognostic effects.

Images are small (a 36 mm cube; 2 mm voxels by default) so that each design runs in seconds to
minutes. ``n_scale`` shrinks every cohort (the paper's sizes at 1.0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radsig.exceptions import ConfigError
from radsig.synth.phantoms import Scanner, make_lesion

IMMUNE_GENES = ("CD274", "CD8A", "CD8B", "CD3E", "CD3D", "CD3G", "CD6", "GZMA", "GZMB", "PRF1", "NKG7",
                "CCL5", "CXCL9", "CXCL10", "IFNG", "IDO1", "STAT1", "HLA-DRA", "PDCD1", "CTLA4", "LAG3",
                "CD68", "CD163", "FOXP3", "MKI67", "EPCAM", "GAPDH", "ACTB")
# sign of each gene's link to the immune latent (housekeeping-like genes: 0)
_GENE_SIGN = {"CD163": -0.3, "MKI67": 0.0, "EPCAM": 0.0, "GAPDH": 0.0, "ACTB": 0.0, "FOXP3": 0.4, "CD68": 0.2}


@dataclass(frozen=True)
class CohortDef:
    """One cohort of a design: name, role, size in the paper and its scanner."""

    name: str
    role: str
    n: int
    scanner: str = "A"
    description: str = ""
    treated: bool = True          # received immunotherapy: response / survival recorded
    expression: bool = False      # bulk RNA-seq available
    ihc: bool = False             # IHC markers available


@dataclass(frozen=True)
class Design:
    """A published study design turned into a generator recipe."""

    name: str
    title: str
    cohorts: tuple[CohortDef, ...]
    modalities: tuple[str, ...] = ("CT",)
    max_lesions: int = 1
    ihc_markers: tuple[str, ...] = ()
    clinical_risk_score: bool = False
    pdl1: bool = False
    time_unit_days: bool = False  # survival in months by default
    notes: str = ""


SCANNERS: dict[str, Scanner] = {
    "A": Scanner("A", 2.0, 6.0, 0.0, 1.00, 0.06),
    "B": Scanner("B", 2.0, 10.0, 12.0, 1.10, 0.08),
    "C": Scanner("C", 2.4, 12.0, -10.0, 0.90, 0.09),
    "D": Scanner("D", 2.2, 8.0, 6.0, 1.05, 0.07),
}

DESIGNS: dict[str, Design] = {d.name: d for d in (
    Design("mcrc_petct", "mCRC PET/CT: TME phenotype Rad-score, immunotherapy response, OS/PFS nomograms",
           (CohortDef("training", "training", 105, "A", "PET/CT, RNA-seq TME phenotype", expression=True, ihc=True),
            CohortDef("internal", "internal", 60, "A", "internal validation", expression=True, ihc=True),
            CohortDef("tme", "external", 42, "B", "TME phenotype cohort with RNA-seq", expression=True, ihc=True),
            CohortDef("immunotherapy", "immunotherapy", 99, "C", "anti-PD-1 treated cohort", ihc=True)),
           modalities=("CT", "PET"), ihc_markers=("CD3", "CD8")),
    Design("crlm_ct_survival", "CRLM CT: LASSO-Cox Rad-score for OS, multi-lesion patients, clinical risk score",
           (CohortDef("training", "training", 138, "A", "resected CRLM, portal-venous CT"),
            CohortDef("validation", "internal", 59, "B", "held-out resected CRLM")),
           modalities=("CT",), max_lesions=3, clinical_risk_score=True),
    Design("nsclc_pdl1", "NSCLC CT: radiomics, deep and fused signatures for PD-L1; ORR by predicted group",
           (CohortDef("training", "training", 424, "A", "IHC PD-L1 (TPS) cohort", expression=True),
            CohortDef("validation", "internal", 107, "A", "random 8:2 split", expression=True),
            CohortDef("immunotherapy", "immunotherapy", 145, "B", "ICI-treated, ORR 51.7%", expression=True),
            CohortDef("external", "external", 128, "C", "public-style external cohort", expression=True)),
           modalities=("CT",), pdl1=True),
    Design("npc_ihc", "NPC MR: radiomics vs clinical model for immunotherapy benefit; PFS; IHC markers",
           (CohortDef("training", "training", 123, "A", "centre 1, locoregionally advanced NPC", ihc=True),
            CohortDef("internal", "internal", 53, "A", "centre 1 held out", ihc=True),
            CohortDef("external", "external", 70, "B", "centres 2-3", ihc=True)),
           modalities=("MR",), ihc_markers=("CD45RO", "CD8", "PD-L1", "CD163")),
    Design("hcc_habitat_ensemble", "HCC TACE-ICI-MTT, multiphase CT: global + habitat features, PCA score, ensembles",
           (CohortDef("training", "training", 350, "A", "centres 1-4", expression=True),
            CohortDef("internal", "internal", 150, "A", "centres 1-4 held out", expression=True),
            CohortDef("test", "external", 242, "B", "independent centres 5-7", expression=True)),
           modalities=("AP", "PVP")),
)}


@dataclass
class DesignCohort:
    """Where a generated design cohort lies."""

    design: str
    root: Path
    manifests: dict[str, Path] = field(default_factory=dict)
    clinical: dict[str, Path] = field(default_factory=dict)
    expression: dict[str, Path] = field(default_factory=dict)
    ihc: Path | None = None  # one IHC table (patient ID + marker columns) of every cohort with IHC
    n_patients: int = 0
    negative_control: bool = False


def get_design(name: str) -> Design:
    if name not in DESIGNS:
        raise ConfigError(f"unknown design {name!r}; available: {', '.join(DESIGNS)}")
    return DESIGNS[name]


def scaled_sizes(design: Design, n_scale: float, min_n: int = 24) -> list[int]:
    """Cohort sizes at ``n_scale`` × the paper's (at least ``min_n`` each)."""
    if not 0 < n_scale <= 1.0:
        raise ConfigError(f"n_scale must be in (0, 1], got {n_scale}")
    return [max(min_n, int(round(c.n * n_scale))) for c in design.cohorts]


# --------------------------------------------------------------------------- patients
def _outcomes(rng: np.random.Generator, z: np.ndarray, design: Design) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    n = z.size
    age = np.clip(rng.normal(60.0, 10.0, n), 25, 88).round()
    sex = rng.choice(["female", "male"], size=n, p=[0.4, 0.6])
    ecog = rng.choice([0, 1], size=n, p=[0.6, 0.4])
    stage = rng.choice(["III", "IV"], size=n, p=[0.45, 0.55])
    stage_iv = (stage == "IV").astype(float)
    df = pd.DataFrame({"age": age, "sex": sex, "ecog": ecog, "stage": stage})
    risk = 0.5 * stage_iv + 0.35 * ecog
    if design.clinical_risk_score:  # Fong-like score 0-5, weakly prognostic
        crs = np.clip(rng.binomial(5, 0.35, n) + (rng.uniform(size=n) < 0.3 * stage_iv), 0, 5)
        df["clinical_risk_score"] = crs.astype(int)
        risk = risk + 0.18 * crs
    cd8 = 0.8 * z + 0.6 * rng.standard_normal(n)
    cd3 = 0.7 * z + 0.7 * rng.standard_normal(n)
    df["immune_score"] = np.round(50 + 8 * cd8 + 7 * cd3, 1)   # CD3/CD8 immunoscore-like
    df["tme_phenotype"] = np.where(z > 0.3, "inflamed", "non-inflamed")
    if design.pdl1:
        df["pdl1_status"] = np.where(z + 0.5 * rng.standard_normal(n) > 0.2, "positive", "negative")
    logit = -0.1 + 2.2 * z - 0.5 * ecog - 0.3 * stage_iv
    df["response"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    hazard = np.exp(-1.2 * z + risk) / 24.0
    os_t = rng.exponential(1 / hazard)
    pfs_t = np.minimum(os_t, rng.exponential(1 / (2.0 * hazard)))
    censor = np.minimum(rng.uniform(24.0, 84.0, n), rng.exponential(150.0, n))
    df["os_months"] = np.round(np.minimum(os_t, censor), 2)
    df["os_event"] = (os_t <= censor).astype(int)
    df["pfs_months"] = np.round(np.minimum(pfs_t, censor), 2)
    df["pfs_event"] = (pfs_t <= censor).astype(int)
    return df, cd8, cd3


def _ihc(rng, z, cd8, cd3, markers) -> dict[str, np.ndarray]:
    n = z.size
    link = {"CD3": cd3, "CD8": cd8, "CD45RO": 0.7 * z + 0.7 * rng.standard_normal(n),
            "PD-L1": 0.6 * z + 0.8 * rng.standard_normal(n),
            "CD163": -0.6 * z + 0.8 * rng.standard_normal(n)}
    out = {}
    for m in markers:
        col = "ihc_" + m.lower().replace("-", "")
        out[col] = np.round(np.exp(4.5 + 0.6 * link[m] + 0.2 * rng.standard_normal(n)), 1)
    return out


def _expression(rng, z, ids: list[str]) -> pd.DataFrame:
    """log2(TPM + 1) of a small immune gene panel (genes × samples)."""
    n = z.size
    rows = {}
    for g in IMMUNE_GENES:
        w = _GENE_SIGN.get(g, 0.9)
        rows[g] = np.round(4.0 + 1.2 * w * z + 0.6 * rng.standard_normal(n), 3)
    return pd.DataFrame(rows, index=ids).T.rename_axis("gene")


# --------------------------------------------------------------------------- images
def _images(rng, s: float, scanner: Scanner, modalities, radius: float, stem: str, folder: Path) -> dict:
    ct, pet, mask = make_lesion(rng, scanner, s=s, radius_mm=radius)
    arrays = {"CT": ct, "PET": pet}
    if "MR" in modalities:  # T2-like: tumour signal and texture from the CT-like volume
        arrays["MR"] = sitk.Cast(sitk.ShiftScale(ct, 20.0, 4.0), sitk.sitkFloat32)
    if "AP" in modalities:  # arterial phase: CT; portal-venous: washout plus its own noise
        arrays["AP"] = ct
        pv = sitk.GetArrayFromImage(ct) * 0.85 + 25.0 - 6.0 * s * sitk.GetArrayFromImage(mask)
        pv = pv + rng.normal(0.0, scanner.ct_noise_hu, pv.shape)
        img = sitk.GetImageFromArray(pv.astype(np.float32))
        img.CopyInformation(ct)
        arrays["PVP"] = img
    paths = {"mask": folder / f"{stem}_mask.nii.gz"}
    sitk.WriteImage(mask, str(paths["mask"]), useCompression=True)
    for mod in modalities:
        paths[mod] = folder / f"{stem}_{mod.lower()}.nii.gz"
        sitk.WriteImage(arrays[mod], str(paths[mod]), useCompression=True)
    return paths


def make_design_cohort(design: str | Design, out: str | Path, *, n_scale: float = 1.0,
                       seed: int = 20240611, negative_control: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> DesignCohort:
    """Write a design's cohorts under ``out``: images, manifests, clinical tables, RNA-seq tables.

    Parameters
    ----------
    design : a name of :data:`DESIGNS` or a :class:`Design`.
    out : folder (created). Manifests hold paths relative to it.
    n_scale : fraction of the paper's cohort sizes (each cohort at least 24 patients).
    seed : the same seed gives the same images whatever ``negative_control`` is.
    negative_control : redraw the immune latent independently of the images (see module doc).
    """
    d = get_design(design) if isinstance(design, str) else design
    root = Path(out)
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    sizes = scaled_sizes(d, n_scale)
    total = sum(sizes)
    rng_img = np.random.default_rng(seed)
    s_all = rng_img.standard_normal(total)
    rng_out = np.random.default_rng([seed, 7919, 1 + int(negative_control)])  # independent of rng_img
    z_all = rng_out.standard_normal(total) if negative_control else (s_all + 0.8 * rng_out.standard_normal(total)) / 1.28
    res = DesignCohort(d.name, root, n_patients=total, negative_control=negative_control)
    start, done = 0, 0
    all_expr = []
    for cdef, size in zip(d.cohorts, sizes, strict=True):
        z, s = z_all[start:start + size], s_all[start:start + size]
        start += size
        ids = [f"{cdef.name[:3].upper()}{i + 1:04d}" for i in range(size)]
        clin, cd8, cd3 = _outcomes(rng_out, z, d)
        clin.insert(0, "patient_id", ids)
        clin.insert(1, "centre", cdef.scanner)
        for col, v in _ihc(rng_out, z, cd8, cd3, d.ihc_markers if cdef.ihc else ()).items():
            clin[col] = v
        if cdef.expression:
            expr = _expression(rng_out, z, ids)
            clin["CD274"] = expr.loc["CD274"].to_numpy()
            res.expression[cdef.name] = root / f"{cdef.name}_expression.csv"
            expr.to_csv(res.expression[cdef.name])
            all_expr.append(expr)
        rows = []
        for i, pid in enumerate(ids):
            n_les = int(rng_img.integers(1, d.max_lesions + 1)) if d.max_lesions > 1 else 1
            for les in range(n_les):
                radius = 7.0 + rng_img.uniform(0.0, 4.0) - (1.5 if les else 0.0)
                s_les = float(s[i] + (0.3 * rng_img.standard_normal() if les else 0.0))
                stem = f"{pid}_L{les + 1}" if d.max_lesions > 1 else pid
                paths = _images(rng_img, s_les, SCANNERS[cdef.scanner], d.modalities, radius, stem, images)
                for mod in d.modalities:
                    row = {"patient_id": pid, "modality": mod, "image": f"images/{paths[mod].name}",
                           "mask": f"images/{paths['mask'].name}", "label": 1}
                    if d.max_lesions > 1:
                        row["lesion"] = f"L{les + 1}"
                    rows.append(row)
            if d.max_lesions > 1:
                clin.loc[i, "n_lesions"] = n_les
            done += 1
            if progress is not None:
                progress(done, total)
        if d.max_lesions > 1:
            clin["n_lesions"] = clin["n_lesions"].astype(int)
        if not cdef.treated:
            clin = clin.drop(columns=["response"])
        res.manifests[cdef.name] = root / f"{cdef.name}_manifest.csv"
        res.clinical[cdef.name] = root / f"{cdef.name}_clinical.csv"
        pd.DataFrame(rows).to_csv(res.manifests[cdef.name], index=False)
        clin.to_csv(res.clinical[cdef.name], index=False)
    if all_expr:  # one genes × patients matrix of every cohort with RNA-seq (the study's biology section)
        pd.concat(all_expr, axis=1).to_csv(root / "expression_log2.csv")
    res.ihc = _write_ihc_table(res.clinical.values(), root / "ihc.csv")
    return res


def _write_ihc_table(clinical_files, path: Path) -> Path | None:
    """The IHC markers of every cohort that has them as one table (patient ID + ``ihc_*`` columns),
    for the study's ``biology: ihc:``; they stay clinical columns too."""
    parts = []
    for f in clinical_files:
        clin = pd.read_csv(f)
        cols = [c for c in clin.columns if c.startswith("ihc_")]
        if cols:
            parts.append(clin[["patient_id", *cols]].dropna(subset=cols, how="all"))
    if not parts:
        return None
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path
