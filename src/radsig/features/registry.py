"""Which module computes which IBSI feature family, and the IBSI names and codes.

The mapping family → module is explicit (no discovery magic); metadata come from the
package's ``ibsi_features.csv`` and ``ibsi_aggregations.csv``.
"""

from __future__ import annotations

import csv
import importlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: family name → module (relative to radsig.features) that exposes ``compute(roi, **options)``
FAMILY_MODULES: dict[str, str] = {
    "morphology": "morphology",
    "local_intensity": "local_intensity",
    "intensity_statistics": "intensity_statistics",
    "intensity_histogram": "intensity_histogram",
    "intensity_volume_histogram": "intensity_volume_histogram",
    "glcm": "glcm",
    "glrlm": "glrlm",
    "glszm": "glszm",
    "gldzm": "gldzm",
    "ngtdm": "ngtdm",
    "ngldm": "ngldm",
}

#: texture families with directional matrices (averaged / merged aggregation variants)
DIRECTIONAL = ("glcm", "glrlm")
#: texture families with one matrix per slice or volume
NON_DIRECTIONAL = ("glszm", "gldzm", "ngtdm", "ngldm")
TEXTURE = DIRECTIONAL + NON_DIRECTIONAL

#: settings dimension → aggregation_short values, per kind of texture family
_AGGREGATIONS = {
    "directional": {"2D": ("2D_avg", "2D_comb"), "2.5D": ("2_5D_avg", "2_5D_comb"),
                    "3D": ("3D_avg", "3D_comb")},
    "non_directional": {"2D": ("2D",), "2.5D": ("2_5D",), "3D": ("3D",)},
}

#: smallest number of intensity-mask voxels a family needs (fewer → missing values + warning)
MIN_VOXELS: dict[str, int] = {family: 2 for family in TEXTURE}


@dataclass(frozen=True)
class FeatureInfo:
    """IBSI metadata of one feature tag."""

    tag: str
    name: str
    family: str
    family_code: str
    ibsi_code: str


def _csv_rows(name: str) -> list[dict[str, str]]:
    # the csv module, not pandas: one case on the command line must not import pandas
    with resources.files("radsig.features").joinpath(name).open("r", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _feature_rows() -> tuple[dict[str, str], ...]:
    return tuple(_csv_rows("ibsi_features.csv"))


def feature_table():
    """``ibsi_features.csv`` as a pandas DataFrame: tag, name, family, family_code, ibsi_code,
    ibsi_code_specific (all strings)."""
    import pandas as pd

    rows = _feature_rows()
    return pd.DataFrame([dict(r) for r in rows], columns=list(rows[0]), dtype=str)


@lru_cache(maxsize=1)
def aggregation_codes() -> dict[str, str]:
    """aggregation_short → IBSI aggregation code (``""`` → DHQ4, the whole ROI volume)."""
    return {r["aggregation_short"]: r["aggregation_code"]
            for r in _csv_rows("ibsi_aggregations.csv")}


@lru_cache(maxsize=1)
def features_by_tag() -> dict[str, FeatureInfo]:
    """tag → :class:`FeatureInfo`, with the specific IBSI code where one exists (e.g. NK6P)."""
    out = {}
    for row in _feature_rows():
        code = row["ibsi_code_specific"] or row["ibsi_code"]
        out[row["tag"]] = FeatureInfo(row["tag"], row["name"], row["family"], row["family_code"],
                                      code)
    return out


def family_tags(family: str) -> list[str]:
    """IBSI tags of *family*, in the order of ``ibsi_features.csv``."""
    return [r["tag"] for r in _feature_rows() if r["family"] == family]


def aggregations_for(family: str, dimensions) -> list[str]:
    """aggregation_short values of *family* for settings *dimensions* (``[""]`` for
    non-texture families)."""
    if family in DIRECTIONAL:
        kind = "directional"
    elif family in NON_DIRECTIONAL:
        kind = "non_directional"
    else:
        return [""]
    return [a for dim in dimensions for a in _AGGREGATIONS[kind][dim]]


def expected_keys(family: str, dimensions) -> list[str]:
    """Keys a family's ``compute`` returns: tag, or ``tag_<aggregation_short>`` for texture."""
    aggs = aggregations_for(family, dimensions)
    return [f"{t}_{a}" if a else t for t in family_tags(family) for a in aggs]


def get_family(family: str):
    """The module that computes *family* (imported on first use)."""
    if family not in FAMILY_MODULES:
        raise KeyError(f"unknown feature family {family!r}; known: {', '.join(FAMILY_MODULES)}")
    return importlib.import_module(f"radsig.features.{FAMILY_MODULES[family]}")


def split_key(key: str) -> tuple[str, str]:
    """(tag, aggregation_short) of a family's result key."""
    tags = features_by_tag()
    if key in tags:
        return key, ""
    for agg in sorted(aggregation_codes(), key=len, reverse=True):
        if agg and key.endswith("_" + agg) and key[: -len(agg) - 1] in tags:
            return key[: -len(agg) - 1], agg
    return key, ""
