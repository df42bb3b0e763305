"""Compute sendcast's headline outputs and (when run as a script) rewrite the golden file.

The golden file guards against unintended changes: the published figures the store must
return exactly, and the forecast for Norfolk and England with a fixed seed.
"""

from __future__ import annotations

import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "headline.json"


def headline() -> dict[str, float]:
    """Headline figures: published caseloads and a seeded forecast (200 draws, 5 years)."""
    from sendcast.model.api import forecast, model_data

    data = model_data()
    s = data.series
    out: dict[str, float] = {}
    for code, year in (("E10000020", 2010), ("E10000020", 2024), ("E92000001", 2024)):
        v = s[
            (s["la_code"] == code)
            & (s["measure"] == "ehcp_total")
            & (s["year"] == year)
            & (s["period_type"] == "january")
        ]
        out[f"published.{code}.ehcp_total.{year}"] = float(v["value"].iloc[0])
    res = forecast(all_councils=True, horizon=5, draws=200, seed=7)
    sm = res.summary
    last = int(sm["year"].max())
    for code in ("E10000020", "E92000001"):
        for m in ("ehcp_total", "special_school", "independent_special", "age_16_19"):
            row = sm[(sm["la_code"] == code) & (sm["measure"] == m) & (sm["year"] == last)].iloc[0]
            for q in ("p10", "p50", "p90"):
                out[f"forecast.{code}.{m}.{last}.{q}"] = round(float(row[q]), 1)
    return out


if __name__ == "__main__":
    values = headline()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps({"tolerance_relative": 0.02, "values": values}, indent=1) + "\n")
    print(f"wrote {GOLDEN} ({len(values)} values)")
