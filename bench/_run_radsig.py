"""Run radsig's PyRadiomics mode on one case; write features and timings as JSON.

Usage: python _run_radsig.py IMAGE MASK PARAMS.yaml OUT.json
Timed: ``extract_s`` covers reading the parameter file and the extraction (``extract_rows``,
the row list behind ``extract_case_pyradiomics``; reading the image and mask included).
"""

import json
import sys
import time

t0 = time.perf_counter()
from radsig.config.pyradiomics import load_pyradiomics_settings  # noqa: E402
from radsig.features.pyradiomics import extract_rows  # noqa: E402

image, mask, params, out = sys.argv[1:5]
t1 = time.perf_counter()
rows = extract_rows(image, mask, load_pyradiomics_settings(params))
t2 = time.perf_counter()
values = {row[0]: float(row[4]) for row in rows}
peak_kib = 0
with open("/proc/self/status") as fh:  # this process's own high-water mark (after exec)
    for line in fh:
        if line.startswith("VmHWM:"):
            peak_kib = int(line.split()[1])
with open(out, "w") as fh:
    from radsig.features.pyradiomics import _matrices

    json.dump({"c_kernels": _matrices._C is not None, "peak_mib": peak_kib / 1024.0, "import_s": t1 - t0, "extract_s": t2 - t1, "features": values}, fh)
