"""Benchmark: import a 20,000-person SEN2 person-level return (target < 30 s on 2 cores).

Writes one synthetic return (about 20,000 people: open plans, plans ceased in the year and
requests that did not become plans) to a temporary folder, then times
``sendcast.personlevel.importer.import_returns`` on it: reading and validating the nine CSVs,
the 26 checks, pseudonymising, deriving the caseload and writing the store. The synthetic
generation is not timed. Also reports the time as a ratio to reading the same nine CSVs with
plain ``pandas.read_csv`` (a machine-independent figure).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import peak_rss_mb, record

from sendcast.personlevel.importer import import_returns
from sendcast.personlevel.synth import write_synthetic

PEOPLE_TARGET, TARGET_S = 20_000, 30.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["XDG_CONFIG_HOME"] = str(root / "config")  # the generated key stays in the temp folder
        # about 17,500 open plans give about 20,000 people in the return (leavers and requesters)
        write_synthetic(root / "in", people=17_500, years=1, seed=1, defects=True)
        persons = len(pd.read_csv(next((root / "in").glob("*_person.csv"))))
        t = time.perf_counter()
        for p in (root / "in").glob("Blade-Export_*.csv"):
            pd.read_csv(p, dtype=str, keep_default_na=False)
        raw_read = time.perf_counter() - t
        t = time.perf_counter()
        res = import_returns(root / "in", root / "store")
        wall = time.perf_counter() - t
    record(
        "sen2_import",
        {
            "people_in_return": persons,
            "findings_errors": res.errors,
            "wall_s": round(wall, 2),
            "target_s": TARGET_S,
            "ratio_to_target": round(wall / TARGET_S, 3),
            "plain_read_csv_s": round(raw_read, 2),
            "ratio_to_plain_read_csv": round(wall / raw_read, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "cpus": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
