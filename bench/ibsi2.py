"""Regenerate docs/ibsi2.md: IBSI-2 phase-1 maps and phase-2 values, with their times.

    PYTHONPATH=src python bench/ibsi2.py [--out docs/ibsi2.md] [--machine "2-core VM"]

Runs every phase-1 test (the 33 consensus maps and 10a) and the 18 phase-2 configurations
through the same code as the tests (radsig.features.ibsi2_compliance) and writes the tables;
tests/preprocess/test_ibsi2_doc.py checks that the written deviations, values and pass/fail are
current (times are not checked: they depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from radsig.features import ibsi2_compliance as c

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "ibsi2.md")
    parser.add_argument("--machine", default=None, help="Machine description for the doc.")
    args = parser.parse_args()
    if args.machine is None:
        load = os.getloadavg()[0]
        args.machine = (f"{platform.machine()}, {os.cpu_count()} CPUs shared with other work "
                        f"(load average {load:.1f} at the start)")
    data, params = REPO / "tests" / "data", REPO / "params"
    maps = c.phase1(data, params)
    for m in maps:
        print(f"{m.test}: {m.deviation_pct} % {m.seconds:.3f} s", flush=True)
    features, seconds, filters = [], {}, {}
    for config in c.PHASE2_CONFIGS:
        rows, seconds[config], filters[config] = c.phase2_config(config, data, params)
        features.extend(rows)
        print(f"{config}: {sum(bool(r.passed) for r in rows)} pass, "
              f"{seconds[config][0]:.1f} s", flush=True)
    args.out.write_text(c.render_markdown(maps, features, seconds, filters, args.machine))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
