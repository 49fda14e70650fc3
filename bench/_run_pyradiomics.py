"""Run PyRadiomics (its own virtual environment) on one case; print one JSON line.

Usage: python _run_pyradiomics.py IMAGE MASK PARAMS.yaml OUT.json
Timed: ``extract_s`` covers extractor construction + ``execute`` (reading included).
"""

import json
import logging
import sys
import time

t0 = time.perf_counter()
from radiomics import featureextractor  # noqa: E402

logging.getLogger("radiomics").setLevel(logging.ERROR)
image, mask, params, out = sys.argv[1:5]
t1 = time.perf_counter()
extractor = featureextractor.RadiomicsFeatureExtractor(params)
result = extractor.execute(image, mask)
t2 = time.perf_counter()
values = {k: float(v) for k, v in result.items() if not k.startswith("diagnostics")}
peak_kib = 0
with open("/proc/self/status") as fh:  # this process's own high-water mark (after exec)
    for line in fh:
        if line.startswith("VmHWM:"):
            peak_kib = int(line.split()[1])
with open(out, "w") as fh:
    json.dump({"peak_mib": peak_kib / 1024.0, "import_s": t1 - t0, "extract_s": t2 - t1, "features": values}, fh)
