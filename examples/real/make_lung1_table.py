"""Write the per-patient Lung1 feature table the Lung1 example study reads.

The upstream PyRadiomics output (``lung1_pyradiomics2.2_features_pmt.csv.gz``: one row per GTV, the
patient only inside ``Patient`` like ``LUNG1-002_000000_GTV-1_mask``, patients 001-003 twice from two
conversions) has no patient-ID column and more than one row for some patients. This keeps the GTV-1 row
of each patient (the first when repeated) and adds ``PatientID`` (the first 9 characters of
``Patient``) as the first column; every other column and value is unchanged, diagnostics included.

    python examples/real/make_lung1_table.py   # from the repository root
"""

from pathlib import Path

import pandas as pd

FOLDER = Path(__file__).resolve().parents[2] / "tests" / "data" / "realdata" / "lung1_nsclc_radiomics"

if __name__ == "__main__":
    t = pd.read_csv(FOLDER / "lung1_pyradiomics2.2_features_pmt.csv.gz", float_precision="round_trip")
    t = t[t["ROI"] == "GTV-1_mask"]
    t.insert(0, "PatientID", t["Patient"].str[:9])
    t = t.drop_duplicates("PatientID")
    t.to_csv(FOLDER / "lung1_gtv1_features_by_patient.csv.gz", index=False,
             compression={"method": "gzip", "mtime": 0})  # byte-identical on every run
    print(f"{len(t)} patients, {t.shape[1]} columns")
