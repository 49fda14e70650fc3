"""Run radsig's PyRadiomics mode on one case; write features and timings as JSON.

Usage: python _run_radsig.py IMAGE MASK PARAMS.yaml OUT.json
Timed: ``extract_s`` covers reading the parameter file and ``extract_case_pyradiomics``
(reading the image and mask included).
"""

import json
import sys
import time

t0 = time.perf_counter()
from radsig.features.pyradiomics import extract_case_pyradiomics  # noqa: E402

image, mask, params, out = sys.argv[1:5]
t1 = time.perf_counter()
table = extract_case_pyradiomics(image, mask, params)
t2 = time.perf_counter()
values = {f: float(v) for f, v in zip(table["feature"], table["value"])}
peak_kib = 0
with open("/proc/self/status") as fh:  # this process's own high-water mark (after exec)
    for line in fh:
        if line.startswith("VmHWM:"):
            peak_kib = int(line.split()[1])
with open(out, "w") as fh:
    json.dump({"peak_mib": peak_kib / 1024.0, "import_s": t1 - t0, "extract_s": t2 - t1, "features": values}, fh)
