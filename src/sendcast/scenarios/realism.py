"""How realistic is a scenario? Each promise set against what councils actually achieved.

Plain functions over the store's ``series`` table (long rows ``la_code, la_name, year,
period_type, measure, value``; ``january`` caseloads, ``calendar_year`` flows) and its
``population`` table (``la_code, year, age, population``).

For each council and year since :data:`SINCE` (2015) :func:`council_metrics` derives: plans at January and
their yearly growth, the share of plans in independent special schools, new plans per 10,000
aged 0-25, the exit rate (plans ceasing per plan, ``(S(t) + N(t) - S(t+1)) / S(t)``) and each
placement group's plans per 10,000 aged 0-25. A promise becomes a test over windows of
consecutive years, e.g. "EHCP growth under 4% a year in each of 3 consecutive years"; each
council's best window is compared with the promise, giving the number (and names) of councils
that achieved it, overall and among the council's statistical neighbours.

Verdict (plain language): **unprecedented** when no council achieved it; **ambitious** when
fewer than :data:`AMBITIOUS_SHARE` of councils did; **within experience** otherwise. The
thresholds are a judgement, kept with their reasoning in the sourced parameter file
``parameters/scenarios/realism.yaml`` (:data:`REALISM_FILE`) and stated in every verdict's
evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sendcast.parameters import PARAMETERS_DIR, ParameterError, load_parameter
from sendcast.scenarios.schema import (
    CeasingLever,
    IncidenceLever,
    NewPlacesLever,
    PlacementShiftLever,
    Scenario,
)

REALISM_FILE = PARAMETERS_DIR / "scenarios" / "realism.yaml"


@dataclass(frozen=True)
class RealismThresholds:
    """The judgement thresholds of the verdicts (meanings and reasoning in :data:`REALISM_FILE`)."""

    since: int
    ambitious_share: float
    sustained_years: int
    min_years_incidence: int
    min_years_ceasing: int
    min_years_placement_shift: int


def load_thresholds(path: Path = REALISM_FILE) -> RealismThresholds:
    """Return the thresholds in ``path`` (default: the shipped ``scenarios/realism.yaml``).

    Raises ParameterError naming the file and key when the file fails the parameter checks
    (unit, source ...), a value is missing, or out of range: ``ambitious_share`` in (0, 1],
    year counts whole numbers >= 1, ``since`` a year 2000-2060.
    """
    vals = load_parameter(path).values
    if not isinstance(vals, dict):
        raise ParameterError(path, "values", "expected named values (since, ambitious_share, ...)")

    def whole(key: str, lo: int, hi: int) -> int:
        v = vals.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ParameterError(path, f"values.{key}", f"expected a whole number {lo}-{hi}, got {v!r}")
        return v

    share = vals.get("ambitious_share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ParameterError(path, "values.ambitious_share", f"expected a share in (0, 1], got {share!r}")
    return RealismThresholds(
        since=whole("since", 2000, 2060),
        ambitious_share=float(share),
        sustained_years=whole("sustained_years", 1, 10),
        min_years_incidence=whole("min_years_incidence", 1, 10),
        min_years_ceasing=whole("min_years_ceasing", 1, 10),
        min_years_placement_shift=whole("min_years_placement_shift", 1, 10),
    )


# read once at import; functions look these names up when called, so a test (or a caller)
# can set them from another file with load_thresholds(path)
_THRESHOLDS = load_thresholds()
SINCE = _THRESHOLDS.since
AMBITIOUS_SHARE = _THRESHOLDS.ambitious_share
SUSTAINED = _THRESHOLDS.sustained_years
MIN_YEARS_INCIDENCE = _THRESHOLDS.min_years_incidence
MIN_YEARS_CEASING = _THRESHOLDS.min_years_ceasing
MIN_YEARS_PLACEMENT_SHIFT = _THRESHOLDS.min_years_placement_shift
MAX_NAMES = 12  # presentation only: names listed in a verdict's text
NOT_COUNCILS = ("E92", "E12", "E13")  # England, regions, inner/outer London aggregates
How = Literal["max_in_window", "ratio", "diff"]


def council_metrics(series: pd.DataFrame, population: pd.DataFrame, *, since: int | None = None) -> pd.DataFrame:
    """Return one row per council and year (>= ``since``, default :data:`SINCE`): ``la_code, la_name, year,
    ehcp_total, growth, independent_share, new_plans, pop_0_25, new_plans_per_10k, exit_rate``
    and ``<group>_per_10k`` for resourced_provision, state_special and independent_special.

    ``growth(y) = total(y) / total(y-1) - 1`` (Januaries); ``new_plans(y)`` is calendar year y;
    ``pop_0_25(y)`` is the mid-year estimate for y (else the latest earlier one);
    ``exit_rate(y) = (total(y) + new_plans(y) - total(y+1)) / total(y)``.
    """
    s = series[~series["la_code"].astype(str).str[:3].isin(NOT_COUNCILS)]
    jan = s[s["period_type"] == "january"]
    cal = s[s["period_type"] == "calendar_year"]
    wanted = ["ehcp_total", "independent_special", "state_special", "resourced_provision"]
    wide = jan[jan["measure"].isin(wanted)].pivot_table(
        index=["la_code", "year"], columns="measure", values="value", aggfunc="sum"
    )
    wide = wide.reindex(columns=wanted)
    newp = cal[cal["measure"] == "new_plans"].groupby(["la_code", "year"])["value"].sum()
    wide["new_plans"] = newp.reindex(wide.index)
    pop = population[(population["age"] >= 0) & (population["age"] <= 25)]
    pop_tot = pop.groupby(["la_code", "year"])["population"].sum().sort_index()
    names = s.groupby("la_code")["la_name"].last()
    out = wide.reset_index().sort_values(["la_code", "year"])
    pops = []
    for code, y in zip(out["la_code"], out["year"], strict=True):
        if code in pop_tot.index.get_level_values(0):
            pc = pop_tot.loc[code]
            earlier = pc[pc.index <= y]
            pops.append(float(earlier.iloc[-1]) if len(earlier) else float(pc.iloc[0]))
        else:
            pops.append(np.nan)
    out["pop_0_25"] = pops
    g = out.groupby("la_code")
    out["growth"] = out["ehcp_total"] / g["ehcp_total"].shift(1) - 1
    out["exit_rate"] = (out["ehcp_total"] + out["new_plans"] - g["ehcp_total"].shift(-1)) / out["ehcp_total"]
    # a year gap breaks the year-on-year figures
    gap_prev = out["year"] - g["year"].shift(1) != 1
    gap_next = g["year"].shift(-1) - out["year"] != 1
    out.loc[gap_prev, "growth"] = np.nan
    out.loc[gap_next, "exit_rate"] = np.nan
    out["independent_share"] = out["independent_special"] / out["ehcp_total"]
    out["new_plans_per_10k"] = out["new_plans"] / out["pop_0_25"] * 1e4
    for grp in ("resourced_provision", "state_special", "independent_special"):
        out[f"{grp}_per_10k"] = out[grp] / out["pop_0_25"] * 1e4
    out["la_name"] = out["la_code"].map(names)
    cols = [
        "la_code",
        "la_name",
        "year",
        "ehcp_total",
        "growth",
        "independent_share",
        "new_plans",
        "pop_0_25",
        "new_plans_per_10k",
        "exit_rate",
        "resourced_provision_per_10k",
        "state_special_per_10k",
        "independent_special_per_10k",
    ]
    since = SINCE if since is None else since
    return out[out["year"] >= since][cols].reset_index(drop=True)


def england_index(metrics: pd.DataFrame, column: str) -> pd.Series:
    """Return England's yearly value of a rate as the ratio of sums over councils (for
    ``new_plans_per_10k``: all new plans / all 0-25 population x 10,000; for ``exit_rate``:
    all exits / all plans). Used to judge a council's change relative to the national one."""
    m = metrics.copy()
    if column == "new_plans_per_10k":
        ok = m["new_plans"].notna() & m["pop_0_25"].notna()
        num = m[ok].groupby("year")["new_plans"].sum()
        den = m[ok].groupby("year")["pop_0_25"].sum() / 1e4
    elif column == "exit_rate":
        ok = m["exit_rate"].notna()
        num = (m.loc[ok, "exit_rate"] * m.loc[ok, "ehcp_total"]).groupby(m.loc[ok, "year"]).sum()
        den = m[ok].groupby("year")["ehcp_total"].sum()
    else:
        return m.groupby("year")[column].median()
    return num / den


def best_by_council(
    metrics: pd.DataFrame,
    column: str,
    *,
    window: int,
    how: How,
    lower_is_better: bool = True,
    relative_to: pd.Series | None = None,
    smooth: int = 1,
) -> pd.Series:
    """Return each council's best value of a window statistic (index la_code).

    ``how``: ``max_in_window``: the largest yearly value in ``window`` consecutive years (best
    = the smallest such maximum: "held growth under x% for k years"); ``ratio``:
    ``x(t+window) / x(t) - 1`` (divided by the same ratio of ``relative_to`` when given, e.g.
    England); ``diff``: ``x(t+window) - x(t)``. Best is the lowest (``lower_is_better``) or
    highest over all windows; councils with no complete window are left out.
    """
    out: dict[str, float] = {}
    if smooth > 1 and relative_to is not None:
        relative_to = relative_to.sort_index().rolling(smooth, min_periods=smooth).mean()
    for code, g in metrics.groupby("la_code"):
        x = g.set_index("year")[column].sort_index()
        if smooth > 1 and how in ("ratio", "diff"):
            # compare ``smooth``-year averages, so a one-year dip (a backlog, a data error)
            # does not count as an achievement: x(t) is the mean of t-smooth+1 .. t
            x = x.reindex(range(int(x.index.min()), int(x.index.max()) + 1)).rolling(smooth, min_periods=smooth).mean()
        years = x.index.to_numpy()
        vals: list[float] = []
        if how == "max_in_window":
            for i in range(len(x) - window + 1):
                w = x.iloc[i : i + window]
                if w.notna().all() and years[i + window - 1] - years[i] == window - 1:
                    vals.append(float(w.max()))
            best = min(vals) if vals else np.nan
        else:
            for y0 in years:
                y1 = y0 + window
                if y1 not in x.index or pd.isna(x[y0]) or pd.isna(x[y1]):
                    continue
                if how == "diff":
                    vals.append(float(x[y1] - x[y0]))
                elif x[y0] > 0:
                    r = x[y1] / x[y0]
                    if relative_to is not None:
                        if y0 not in relative_to.index or y1 not in relative_to.index:
                            continue
                        r = r / (relative_to[y1] / relative_to[y0])
                    vals.append(float(r - 1))
            if not vals:
                best = np.nan
            else:
                best = min(vals) if lower_is_better else max(vals)
        if np.isfinite(best):
            out[str(code)] = best
    return pd.Series(out, dtype=float)


@dataclass
class Evidence:
    """Where a promise sits against history. ``achieved``: names of councils that did it;
    ``share``: achieved / councils (the promise's percentile among councils' best records);
    ``neighbours_*`` the same among statistical neighbours; ``verdict`` and ``text``."""

    subject: str
    test: str
    value: float
    n_councils: int
    achieved: list[str]
    neighbours_total: int
    neighbours_achieved: list[str]
    verdict: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Share of councils that achieved it (0 to 1; NaN with no councils)."""
        return len(self.achieved) / self.n_councils if self.n_councils else float("nan")


def verdict_for(n_achieved: int, n_councils: int, *, ambitious_share: float | None = None) -> str:
    """Return ``unprecedented`` (none did it), ``ambitious`` (fewer than ``ambitious_share``,
    default :data:`AMBITIOUS_SHARE`) or ``within experience``. E.g. 6 of 150 -> 4% -> ambitious."""
    if ambitious_share is None:
        ambitious_share = AMBITIOUS_SHARE
    if n_councils == 0:
        return "not assessed"
    if n_achieved == 0:
        return "unprecedented"
    return "ambitious" if n_achieved / n_councils < ambitious_share else "within experience"


def _names(codes: list[str], metrics: pd.DataFrame) -> list[str]:
    nm = metrics.groupby("la_code")["la_name"].last()
    return sorted(str(nm.get(c, c)) for c in codes)


def judge(
    subject: str,
    test: str,
    value: float,
    best: pd.Series,
    metrics: pd.DataFrame,
    *,
    lower_is_better: bool = True,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
) -> Evidence:
    """Return the :class:`Evidence` for a promise of ``value`` against councils' ``best``
    records: a council achieved it when its best is at least as good (``<=`` when lower is
    better, else ``>=``). The council itself is left out of the count."""
    pool = best.drop(index=la_code, errors="ignore") if la_code else best
    hit = pool[pool <= value + 1e-12] if lower_is_better else pool[pool >= value - 1e-12]
    achieved = list(hit.index)
    nb = [c for c in (neighbours or {}).get(la_code or "", []) if c in pool.index]
    nb_hit = [c for c in nb if c in achieved]
    verdict = verdict_for(len(achieved), len(pool))
    names = _names(achieved, metrics)
    shown = ", ".join(names[:MAX_NAMES]) + (" ..." if len(names) > MAX_NAMES else "")
    text = (
        f"{test}: achieved by {len(achieved)} of {len(pool)} councils since {SINCE}"
        + (f": {shown}" if names else "")
        + "."
    )
    if nb:
        text += (
            f" Among {len(nb)} statistical neighbours: {len(nb_hit)}"
            + (f" ({', '.join(_names(nb_hit, metrics))})" if nb_hit else "")
            + "."
        )
    text += f" Verdict: {verdict}."
    return Evidence(
        subject=subject,
        test=test,
        value=value,
        n_councils=len(pool),
        achieved=names,
        neighbours_total=len(nb),
        neighbours_achieved=_names(nb_hit, metrics),
        verdict=verdict,
        text=text,
    )


def assess_lever(
    lever: Any,
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> Evidence | None:
    """Return the :class:`Evidence` for one lever, or None for levers history cannot judge
    (money levers, or changes that make things worse).

    - incidence -x%: new plans per 10,000 aged 0-25 fell at least x% relative to England over
      ``max(ramp, MIN_YEARS_INCIDENCE)`` years (2 as shipped);
    - ceasing +x%: the exit rate rose at least x% relative to England over
      ``max(ramp, MIN_YEARS_CEASING)`` years (2; all ages: published flows have no age detail);
    - placement_shift of s% out of independent special: the independent share of plans fell
      at least s% (relative) over ``max(ramp, MIN_YEARS_PLACEMENT_SHIFT)`` years (3: moving s%
      of new placements lowers the share by about s% once the caseload has turned over);
    - new_places N in a group: the group's plans per 10,000 aged 0-25 rose by at least
      N / population x 10,000 in one year (plans as a proxy for places); needs ``pop_0_25``.
    """
    label = lever.describe()
    if isinstance(lever, IncidenceLever) and lever.change_percent < 0:
        k = max(lever.ramp, MIN_YEARS_INCIDENCE)
        eng = england_index(metrics, "new_plans_per_10k")
        best = best_by_council(metrics, "new_plans_per_10k", window=k, how="ratio", relative_to=eng, smooth=SUSTAINED)
        x = lever.change_percent / 100
        test = (
            f"new plans per 10,000 aged 0-25 falling {-lever.change_percent:.0f}% relative to England within {k} years"
        )
        return judge(label, test, x, best, metrics, la_code=la_code, neighbours=neighbours)
    if isinstance(lever, CeasingLever) and lever.change_percent > 0:
        k = max(lever.ramp, MIN_YEARS_CEASING)
        eng = england_index(metrics, "exit_rate")
        best = best_by_council(
            metrics, "exit_rate", window=k, how="ratio", relative_to=eng, lower_is_better=False, smooth=SUSTAINED
        )
        x = lever.change_percent / 100
        test = (
            f"share of plans ceasing each year rising {lever.change_percent:.0f}% relative to England within {k} years"
        )
        return judge(
            label,
            test,
            x,
            best,
            metrics,
            lower_is_better=False,
            la_code=la_code,
            neighbours=neighbours,
        )
    if isinstance(lever, PlacementShiftLever) and lever.from_group == "independent_special":
        k = max(lever.ramp, MIN_YEARS_PLACEMENT_SHIFT)
        best = best_by_council(metrics, "independent_share", window=k, how="ratio", smooth=SUSTAINED)
        x = -lever.share_percent / 100
        test = (
            f"share of plans in independent special schools falling "
            f"{lever.share_percent:.0f}% (relative) within {k} years"
        )
        return judge(label, test, x, best, metrics, la_code=la_code, neighbours=neighbours)
    if (
        isinstance(lever, NewPlacesLever)
        and lever.group in ("resourced_provision", "state_special", "independent_special")
        and pop_0_25
    ):
        col = f"{lever.group}_per_10k"
        best = best_by_council(metrics, col, window=1, how="diff", lower_is_better=False)
        x = lever.places / pop_0_25 * 1e4
        test = (
            f"{lever.places} {lever.group.replace('_', ' ')} places in a year "
            f"({x:.1f} per 10,000 aged 0-25): a rise that large in that group's plans"
        )
        return judge(
            label,
            test,
            x,
            best,
            metrics,
            lower_is_better=False,
            la_code=la_code,
            neighbours=neighbours,
        )
    return None


def assess_path(
    totals: dict[int, float],
    independent: dict[int, float],
    new_plans: dict[int, float],
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> list[Evidence]:
    """Return evidence for the scenario's implied path (e.g. the mean over draws):

    - EHCP growth: the largest yearly growth of ``totals`` (January -> plans) held over all
      the path's years, against councils' best runs of as many consecutive years;
    - independent share: its change in percentage points over the path against councils'
      best change over as many years;
    - new plans per 10,000 aged 0-25 (needs ``pop_0_25``): relative change from the first to
      the last simulated year against councils' best over as many years.
    """
    out: list[Evidence] = []
    ys = sorted(totals)
    if len(ys) >= 2:
        growth = [totals[b] / totals[a] - 1 for a, b in zip(ys, ys[1:], strict=False)]
        k = len(growth)
        g = max(growth)
        best = best_by_council(metrics, "growth", window=k, how="max_in_window")
        out.append(
            judge(
                "implied path: EHCP growth",
                f"holding EHCP growth at or under {g:.1%} a year for {k} years",
                g,
                best,
                metrics,
                la_code=la_code,
                neighbours=neighbours,
            )
        )
        share0 = independent[ys[0]] / totals[ys[0]]
        share1 = independent[ys[-1]] / totals[ys[-1]]
        d = share1 - share0
        best = best_by_council(metrics, "independent_share", window=k, how="diff")
        out.append(
            judge(
                "implied path: independent special share",
                f"independent special share moving {d * 100:+.1f} points in {k} years",
                d,
                best,
                metrics,
                la_code=la_code,
                neighbours=neighbours,
            )
        )
    ny = sorted(new_plans)
    if len(ny) >= 2 and pop_0_25:
        k = ny[-1] - ny[0]
        r = new_plans[ny[-1]] / new_plans[ny[0]] - 1
        best = best_by_council(metrics, "new_plans_per_10k", window=k, how="ratio", smooth=SUSTAINED)
        out.append(
            judge(
                "implied path: new plans per 10,000 aged 0-25",
                f"new plans per 10,000 aged 0-25 changing {r:+.0%} over {k} years",
                r,
                best,
                metrics,
                la_code=la_code,
                neighbours=neighbours,
            )
        )
    return out


def assess_scenario(
    scenario: Scenario,
    metrics: pd.DataFrame,
    *,
    la_code: str | None = None,
    neighbours: dict[str, list[str]] | None = None,
    pop_0_25: float | None = None,
) -> pd.DataFrame:
    """Return one row per lever: ``lever, kind, test, verdict, achieved, of, neighbours,
    evidence`` (money levers: verdict ``not assessed``)."""
    rows = []
    for lv in scenario.levers:
        ev = assess_lever(lv, metrics, la_code=la_code, neighbours=neighbours, pop_0_25=pop_0_25)
        if ev is None:
            rows.append(
                {
                    "lever": lv.describe(),
                    "kind": lv.kind,
                    "test": "",
                    "verdict": "not assessed",
                    "achieved": np.nan,
                    "of": np.nan,
                    "neighbours": "",
                    "evidence": "not judged against history (a money lever, or a change that does not ease demand)",
                }
            )
        else:
            rows.append(evidence_row(ev, kind=lv.kind))
    return pd.DataFrame(
        rows,
        columns=["lever", "kind", "test", "verdict", "achieved", "of", "neighbours", "evidence"],
    )


def evidence_row(ev: Evidence, *, kind: str = "path") -> dict[str, Any]:
    """Return a table row for one :class:`Evidence`."""
    return {
        "lever": ev.subject,
        "kind": kind,
        "test": ev.test,
        "verdict": ev.verdict,
        "achieved": len(ev.achieved),
        "of": ev.n_councils,
        "neighbours": (f"{len(ev.neighbours_achieved)} of {ev.neighbours_total}" if ev.neighbours_total else ""),
        "evidence": ev.text,
    }
