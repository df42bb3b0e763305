"""Unit costs per EHC plan by placement group, calibrated to a council's own published spend.

National figures come from the parameter tree (``costs/placements/<group>.yaml``). A council's
own figure is its section 251 high-needs outturn for the lines that fund a placement group,
divided by its EHC plans in that group (high needs benchmarking tool: ``s251_outturn`` with
``breakdown_topic`` ``line``; ``ehcp_placed`` with ``breakdown_topic`` ``placement``). The two
are combined by partial pooling (``calibration/shrinkage.yaml``)::

    unit_cost = w x council + (1 - w) x national,   w = n / (n + k)

with n the council's plans in the group and k the pseudo-count. Where a line or a count is
absent, the national figure is used and the ``basis``/``note`` columns say so.

Line -> group mapping (s251 line names as snake case, without the ``s251_outturn_`` prefix):

- mainstream + resourced_provision: place and top-ups (maintained/academy/FE and
  NMSS/independent) for primary and secondary. The two groups share these lines; resourced
  provision is taken to cost the mainstream top-up plus its place funding p
  (``funding/place_funding/resourced_provision.yaml``)::

      mainstream = (S - n_rp x p) / (n_ms + n_rp);   resourced_provision = mainstream + p

- state_special: ``place_special`` + ``topup_maintained_special`` over ``maintained_special``
- independent_special: ``topup_nmss_independent_special`` over ``nmss_independent``
- post16_fe: place and top-ups ``*_post_school`` over ``post16``
- other: place and top-ups ``*_early_years`` over ``other``
- ap_pru: always national. AP place/top-up lines fund pupils without plans too; the part not
  attributed to EHCP pupils in AP becomes the non-placement line
  ``alternative_provision_services`` (see :func:`calibrate_non_placement`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sendcast.parameters import (
    PLACEMENT_GROUPS,
    Parameter,
    ParameterError,
    financial_year_label,
    placement_cost,
    require,
)

OUTTURN = "s251_outturn"
PLACED = "ehcp_placed"

_PHASE_LINES = {
    phase: [f"place_{phase}", f"topup_maintained_{phase}", f"topup_nmss_independent_{phase}"]
    for phase in ("primary", "secondary", "post_school", "early_years")
}

# group -> (s251 lines, ehcp_placed breakdowns); mainstream/resourced_provision handled jointly.
GROUP_LINES: dict[str, tuple[list[str], list[str]]] = {
    "mainstream_and_resourced": (
        _PHASE_LINES["primary"] + _PHASE_LINES["secondary"],
        ["mainstream", "resourced_provision_sen_unit"],
    ),
    "state_special": (["place_special", "topup_maintained_special"], ["maintained_special"]),
    "independent_special": (["topup_nmss_independent_special"], ["nmss_independent"]),
    "post16_fe": (_PHASE_LINES["post_school"], ["post16"]),
    "other": (_PHASE_LINES["early_years"], ["other"]),
}

AP_LINES = ["place_pru_ap", "topup_maintained_pru_ap", "topup_nmss_independent_pru_ap"]

NON_PLACEMENT_LINES: tuple[str, ...] = (
    "sen_support_inclusion_services",
    "alternative_provision_services",
    "hospital_education_services",
    "therapies_health_services",
)

UNIT_COST_COLUMNS = [
    "la_code",
    "placement",
    "financial_year",
    "unit_cost",
    "basis",
    "council_value",
    "council_plans",
    "national_value",
    "weight",
    "parameter",
    "trace",
    "note",
]


def inflation_index(params: dict[str, Parameter], from_fy: int, to_fy: int) -> float:
    """Return the price index taking a cost in ``from_fy`` prices to ``to_fy`` prices.

    ``prod over t = from_fy+1 .. to_fy of (1 + r_t)`` with r_t the ``costs/inflation.yaml``
    rate for financial year t (the inverse product when ``to_fy`` is earlier).
    """
    infl = require(params, "costs/inflation")
    lo, hi = sorted((from_fy, to_fy))
    idx = 1.0
    for t in range(lo + 1, hi + 1):
        idx *= 1.0 + infl.value_for_financial_year(t)
    return idx if to_fy >= from_fy else 1.0 / idx


def national_unit_cost(params: dict[str, Parameter], group: str, fy: int) -> tuple[float, str]:
    """Return (national cost per plan for ``group`` in financial year ``fy`` prices, trace).

    The value in force at 1 April ``fy`` (or the first value, if ``fy`` is earlier), moved
    from the financial year it starts in to ``fy`` with :func:`inflation_index`.
    """
    param = placement_cost(params, group)
    dated = param.dated
    if not dated:
        raise ParameterError(param.file, "values", "unit costs need dated values")
    when = dt.date(fy, 4, 1)
    entry = next((v for v in reversed(dated) if v.start <= when), dated[0])
    base_fy = entry.start.year if entry.start.month >= 4 else entry.start.year - 1
    value = entry.value * inflation_index(params, base_fy, fy)
    src = param.source_for(entry)
    trace = f"{param.name}.yaml ({financial_year_label(base_fy)}: {entry.value:,.0f}; {src.title})"
    return value, trace


def _council_rows(observations: pd.DataFrame, la_code: str) -> pd.DataFrame:
    """Rows of ``observations`` for a council matched on ONS or three-digit DfE code."""
    if observations is None or len(observations) == 0:
        return pd.DataFrame(columns=["measure"])
    mask = observations["la_code"].astype(str).eq(str(la_code))
    if "old_la_code" in observations.columns:
        mask |= observations["old_la_code"].astype(str).eq(str(la_code))
    return observations.loc[mask]


def _trace(rows: pd.DataFrame) -> str:
    if rows.empty or "file" not in rows.columns:
        return ""
    parts = sorted({f"{f}:{int(ln)}" for f, ln in zip(rows["file"], rows["line"], strict=True)})
    return "; ".join(parts)


def council_finance_data(observations: pd.DataFrame, la_code: str) -> tuple[int | None, pd.DataFrame, pd.DataFrame]:
    """Return (financial year, s251 outturn rows, ehcp_placed rows) for a council.

    The outturn is the latest financial year present; placements are the January at the start
    of that financial year (or the latest earlier January). Empty frames when absent.
    """
    rows = _council_rows(observations, la_code)
    out = rows[(rows["measure"] == OUTTURN)] if len(rows) else rows
    if len(out) == 0:
        return None, out, out
    out = out[out["breakdown_topic"] == "line"]
    fy = int(out["year"].max())
    out = out[out["year"] == fy]
    placed = rows[(rows["measure"] == PLACED) & (rows["breakdown_topic"] == "placement")]
    placed = placed[placed["year"] <= fy]
    if len(placed):
        placed = placed[placed["year"] == placed["year"].max()]
    return fy, out, placed


def _sum_lines(rows: pd.DataFrame, lines: list[str]) -> tuple[float, list[str], pd.DataFrame]:
    """Return (sum, lines missing or without a number, rows used)."""
    used = rows[rows["breakdown"].isin(lines)]
    have = set(used.loc[used["value"].notna(), "breakdown"])
    missing = [ln for ln in lines if ln not in have]
    return float(used["value"].sum()), missing, used


def calibrate_unit_costs(
    observations: pd.DataFrame,
    la_code: str,
    params: dict[str, Parameter],
    *,
    financial_year: int | None = None,
) -> pd.DataFrame:
    """Return one row per placement group: the council's calibrated cost per plan a year.

    Columns :data:`UNIT_COST_COLUMNS`. ``financial_year`` is the price year (the year of the
    council's outturn, or ``financial_year``/2021 when there is none). ``basis`` is
    ``council+national`` (pooled), or ``national`` with ``note`` saying why. ``trace`` lists the
    parameter file and the data rows (file:line) behind the figure.
    """
    fy_data, out, placed = council_finance_data(observations, la_code)
    fy = financial_year if financial_year is not None else (fy_data or 2021)
    k = require(params, "calibration/shrinkage").value_for_financial_year(fy)
    p_rp = require(params, "funding/place_funding/resourced_provision").value_for_financial_year(fy)
    nat = {g: national_unit_cost(params, g, fy) for g in PLACEMENT_GROUPS}
    plans = placed.groupby("breakdown")["value"].sum(min_count=1) if len(placed) else pd.Series(dtype=float)

    def n_of(keys: list[str]) -> float:
        vals = [plans.get(key, np.nan) for key in keys]
        return float(np.nan) if any(pd.isna(v) for v in vals) else float(sum(vals))

    council: dict[str, tuple[float, float, str, str]] = {}  # group -> (value, n, trace, note)
    if fy_data is None:
        why = "no s251 outturn for this council in the data; national figure used"
        council = {g: (np.nan, np.nan, "", why) for g in PLACEMENT_GROUPS}
    else:
        for key, (lines, breakdowns) in GROUP_LINES.items():
            spend, missing, used = _sum_lines(out, lines)
            n = n_of(breakdowns)
            trace = _trace(pd.concat([used, placed[placed["breakdown"].isin(breakdowns)]]))
            note = ""
            if missing:
                note = f"s251 line(s) absent: {', '.join(missing)}; national figure used"
            elif not n or np.isnan(n):
                note = f"no EHCP count for {'/'.join(breakdowns)}; national figure used"
            if key == "mainstream_and_resourced":
                n_ms, n_rp = n_of(["mainstream"]), n_of(["resourced_provision_sen_unit"])
                value = np.nan if note else max((spend - n_rp * p_rp) / (n_ms + n_rp), 0.0)
                council["mainstream"] = (value, n_ms, trace, note)
                rp = value + p_rp if not note else np.nan
                council["resourced_provision"] = (rp, n_rp, trace, note)
            else:
                council[key] = (np.nan if note else spend / n, n, trace, note)
        council["ap_pru"] = (
            np.nan,
            n_of(["hospital_ap"]),
            "",
            "AP lines also fund pupils without plans; national figure used",
        )

    rows = []
    for g in PLACEMENT_GROUPS:
        value, n, trace, note = council[g]
        national, ptrace = nat[g]
        if np.isnan(value):
            w, cost, basis = 0.0, national, "national"
        else:
            w = n / (n + k)
            cost, basis = w * value + (1 - w) * national, "council+national"
        rows.append(
            {
                "la_code": la_code,
                "placement": g,
                "financial_year": fy,
                "unit_cost": cost,
                "basis": basis,
                "council_value": value,
                "council_plans": n,
                "national_value": national,
                "weight": w,
                "parameter": ptrace,
                "trace": trace,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=UNIT_COST_COLUMNS)


def calibrate_non_placement(
    observations: pd.DataFrame,
    la_code: str,
    params: dict[str, Parameter],
    unit_costs: pd.DataFrame,
) -> pd.DataFrame:
    """Return the non-placement high-needs lines for a council, one row per line.

    Columns ``la_code, line, financial_year, amount, per_plan, basis, parameter, trace, note``.
    ``amount`` is the council's s251 outturn (£, price year ``financial_year``), NaN when the
    line is absent, in which case ``per_plan`` (national £ per plan,
    ``costs/non_placement/<line>.yaml``) is to be multiplied by the council's plans.
    ``alternative_provision_services`` also takes the AP place/top-up lines less the part
    attributed to EHCP pupils in AP (their plans x the ap_pru unit cost, floored at 0).
    SEN transport is not a high-needs-block line and is never included.
    """
    fy_data, out, placed = council_finance_data(observations, la_code)
    fy = int(unit_costs["financial_year"].iloc[0])
    ap = unit_costs.set_index("placement").loc["ap_pru"]
    rows = []
    for line in NON_PLACEMENT_LINES:
        param = require(params, f"costs/non_placement/{line}")
        dated = param.dated[-1]
        base_fy = dated.start.year if dated.start.month >= 4 else dated.start.year - 1
        per_plan = dated.value * inflation_index(params, base_fy, fy)
        spend, missing, used = _sum_lines(out, [line]) if fy_data else (0.0, [line], out)
        note, amount = "", spend
        if missing:
            amount = np.nan
            note = "s251 line absent; national £ per plan x the council's plans used"
        elif line == "alternative_provision_services":
            ap_spend, ap_missing, ap_used = _sum_lines(out, AP_LINES)
            n_ap: float = float(ap["council_plans"]) if not pd.isna(ap["council_plans"]) else 0.0
            if not ap_missing:
                attributed = n_ap * float(ap["unit_cost"])
                amount = spend + max(ap_spend - attributed, 0.0)
                used = pd.concat([used, ap_used])
                note = (
                    f"includes AP place/top-up {ap_spend:,.0f} less {n_ap:,.0f} EHCP pupils in AP"
                    f" x {float(ap['unit_cost']):,.0f} (counted under ap_pru)"
                )
        rows.append(
            {
                "la_code": la_code,
                "line": line,
                "financial_year": fy,
                "amount": amount,
                "per_plan": per_plan,
                "basis": "national" if missing else "council",
                "parameter": f"{param.name}.yaml ({param.source.title})",
                "trace": _trace(used),
                "note": note,
            }
        )
    return pd.DataFrame(rows)
