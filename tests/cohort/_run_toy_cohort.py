"""Run a cohort with the toy extractor in a child process (used by the SIGKILL test).

Usage: python _run_toy_cohort.py MANIFEST OUT CACHE DELAY_SECONDS JOBS
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    import _radsig_cohort_toy as toy

    from radsig.cohort import extract_cohort

    manifest, out, cache, delay, jobs = sys.argv[1:6]
    result = extract_cohort(manifest, {"delay": float(delay)}, out, cache=cache, jobs=int(jobs),
                            progress=False, extractor=toy.toy_extract)
    print(result.summary)
