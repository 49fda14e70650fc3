"""Cohort extraction: manifests, parallel and Dask execution, per-case cache, provenance.

See :func:`extract_cohort` (``radsig cohort extract``) and :func:`aggregate_lesions`
(``radsig cohort aggregate``).
"""

from __future__ import annotations

from radsig.cohort.manifest import Case, Manifest, load_manifest
from radsig.cohort.runner import CohortResult, extract_cohort, output_paths

__all__ = ["Case", "CohortResult", "Manifest", "extract_cohort", "load_manifest", "output_paths"]
