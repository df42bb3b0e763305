"""The high-needs budget and the DSG balance, per Monte Carlo draw: the one place both are computed.

``budget``, ``scenario run``, ``scenario compare``, ``scenario goal-seek`` and the back-cast
all call :func:`compute_budget`; the same inputs give the same balance whichever prints it.

**Start.** The budget starts from the latest published cumulative DSG balance at or before
the start of its first forecast year (:func:`sendcast.money.balances.opening_balance`: the
store's March 2020-2022 balances, a user's CSV, an agreement's ``published_balances``), and
says which. Years between that balance and the forecast origin are modelled on the published
January caseloads (``year_type`` ``back-cast``); later years on the forecast's placement draws
(``forecast``). A council with no published balance is refused unless one is given: the
balance never silently starts at £0.

**January caseloads -> financial years.** Placements mostly start and end with the academic
year, so the January Y count stands for September Y-1 to August Y. Financial year Y (April Y
to March Y+1) has 5 months of the first and 7 of the next::

    plans(FY Y) = 5/12 x plans(January Y) + 7/12 x plans(January Y+1)

**Basis: the high needs block after deductions against council-paid spend.** ESFA pays
academies' and colleges' place funding direct and deducts it from the block; that money never
reaches the council and is not in its s251 outturn. Income is therefore the block *after*
deductions, and spend is the council's s251 outturn lines (:mod:`sendcast.money.unit_costs`).
The national check (:func:`national_check`) shows the choice: in 2021-22 the councils' s251
lines add to £7.5bn, the block after deductions to £7.0bn (a £0.5bn gap) and before deductions
to £7.9bn (a surplus), while published DSG deficits grew by £0.35bn.

**Spend** = plans(FY) x unit cost (per group, grown at the council's pooled growth) +
non-placement lines (moved with the council's high needs block,
``costs/non_placement_growth.yaml``) + a residual line (mean 0).
**Income** = high needs block after deductions (published rows, then
``funding/high_needs_block/growth.yaml``) + block transfer + council contributions + Safety
Valve payments (agreement) + scenario funding.
**Balance** (negative = deficit): ``in_year_balance = income_total - spend_total``;
``cumulative_balance(Y) = opening balance + sum of in-year balances to Y``.

**Uncertainty** (``calibration/money_uncertainty.yaml``): per draw, a shift to each group's
cost growth; per draw and year, the residual (share of the block); the opening balance within
its published rounding. Draws come from ``numpy.random.default_rng((seed, council number))``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sendcast.money.agreements import Agreement
from sendcast.money.balances import Opening, opening_balance
from sendcast.money.unit_costs import (
    FY_WEIGHTS,
    NON_PLACEMENT_LINES,
    S251_YEAR,
    SPECIALIST,
    CostModel,
    calibrate_costs,
    inflation_index,
)
from sendcast.parameters import PLACEMENT_GROUPS, Parameter, financial_year_label, require

DRAW_COLUMNS = ["la_code", "year", "draw", "placement", "plans"]
LINE_COLUMNS = ["financial_year", "draw", "line", "value"]
HNB_STAGE = "after_deductions"
NOTE_TRANSPORT = "SEN transport is not included: it is paid from the council's general fund, not the high needs block."
NOTE_BASIS = (
    "Basis: high needs block after deductions (the cash the council receives) against council-paid s251 spend; "
    "ESFA-paid academy and college places are in neither."
)
# a scenario's money levers: (wide lines by (draw, financial_year), years) -> wide lines
Adjust = Callable[[pd.DataFrame], pd.DataFrame]


class BudgetInputError(ValueError):
    """A budget request that cannot be run; ``str()`` is one line saying what is missing."""


@dataclass
class MoneyInputs:
    """What the budget needs from the store: finance rows, the published January caseloads,
    financial-year plans, published balances, councils, Safety Valve list, parameters."""

    observations: pd.DataFrame
    januaries: pd.DataFrame
    plans: pd.DataFrame
    balances: pd.DataFrame
    councils: pd.DataFrame
    safety_valve: pd.DataFrame
    params: dict[str, Parameter]
    # what compute_budget derives from these inputs alone (cost calibration, unmodelled share),
    # kept so scenario variants, goal-seek trials and repeat budgets do not recompute it
    cache: dict[tuple[object, ...], object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def cached(self, key: tuple[object, ...], compute: Callable[[], object]) -> object:
        """Return ``compute()``, computed once per ``key`` for these inputs (treat as read-only)."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


def load_inputs(
    store: object | None = None,
    params: dict[str, Parameter] | None = None,
    balances_csv: str | None = None,
) -> MoneyInputs:
    """Return the :class:`MoneyInputs` from a store (default: the embedded one), the
    parameter tree and optionally a user's balances CSV (:func:`read_balances_csv`)."""
    from sendcast.money.balances import combine, dsg_balances, read_balances_csv
    from sendcast.money.unit_costs import fy_plans
    from sendcast.parameters import load_parameters
    from sendcast.store import open_store

    st = store or open_store()
    obs = st.observations(source=["high-needs-benchmarking", "dsg-allocations", "send-ap-dashboard"])  # type: ignore[attr-defined]
    series = st.table("series")  # type: ignore[attr-defined]
    jan = series[(series["period_type"] == "january") & series["measure"].isin(PLACEMENT_GROUPS)]
    councils = st.table("councils")  # type: ignore[attr-defined]
    tables = st.tables()  # type: ignore[attr-defined]
    sv = st.table("safety_valve_agreements") if "safety_valve_agreements" in tables else pd.DataFrame()  # type: ignore[attr-defined]
    bal = dsg_balances(obs)
    if balances_csv:
        bal = combine(bal, read_balances_csv(balances_csv, councils))
    return MoneyInputs(
        observations=obs,
        januaries=jan[["la_code", "year", "measure", "value"]].rename(
            columns={"measure": "placement", "value": "plans"}
        ),
        plans=fy_plans(series),
        balances=bal,
        councils=councils,
        safety_valve=sv,
        params=params if params is not None else load_parameters(),
    )


@dataclass
class BudgetResult:
    """A council's (or England's) budget.

    ``lines``: long table ``financial_year, draw, line, value`` (£, or plans for ``plans:*``);
    ``year_type``: financial year -> ``published`` (the opening balance's year), ``back-cast``
    (published caseloads) or ``forecast``; ``costs``: the calibration; ``income``: income by
    year with its basis; ``opening``: the balance it starts from; ``notes``: what is in or out.
    """

    la_code: str
    la_name: str
    lines: pd.DataFrame
    year_type: dict[int, str]
    opening: Opening
    income: pd.DataFrame
    costs: CostModel | None
    parameters: list[Parameter]
    agreement: Agreement | None = None
    notes: list[str] = field(default_factory=list)
    # the summary of ``lines`` (summarise), kept with the table it was computed from
    _summary: tuple[pd.DataFrame, pd.DataFrame] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def opening_balance(self) -> float:
        return self.opening.value

    @property
    def opening_source(self) -> str:
        return self.opening.derivation

    def line(self, name: str) -> pd.DataFrame:
        """Return ``draw, financial_year, value`` for one line."""
        sel = self.lines[self.lines["line"] == name]
        return sel[["draw", "financial_year", "value"]].reset_index(drop=True)


def caseload_by_financial_year(draws: pd.DataFrame, weights: tuple[float, float] = FY_WEIGHTS) -> pd.DataFrame:
    """Return plans per financial year: index (draw, financial_year), a column per group.

    ``plans(FY Y) = weights[0] x January Y + weights[1] x January Y+1`` (default 5/12, 7/12).
    Groups absent from the draws count 0. Raises ValueError on an unknown placement group, a
    missing column, or negative plans.
    """
    missing = [c for c in DRAW_COLUMNS if c not in draws.columns]
    if missing:
        raise ValueError(f"placement draws lack column(s) {missing}")
    unknown = sorted(set(draws["placement"]) - set(PLACEMENT_GROUPS))
    if unknown:
        raise ValueError(f"unknown placement group(s) {unknown}; expected {PLACEMENT_GROUPS}")
    if (draws["plans"] < 0).any():
        raise ValueError("placement draws have negative plans")
    wide = draws.pivot_table(
        index=["draw", "year"], columns="placement", values="plans", aggfunc="sum", fill_value=0
    ).reindex(columns=list(PLACEMENT_GROUPS), fill_value=0)
    wide = wide.astype(float)
    nxt = wide.copy()
    nxt.index = pd.MultiIndex.from_arrays(
        [wide.index.get_level_values("draw"), wide.index.get_level_values("year") - 1],
        names=["draw", "year"],
    )
    fy = (weights[0] * wide + weights[1] * nxt).dropna(how="any")
    fy.index = fy.index.set_names(["draw", "financial_year"])
    fy.columns.name = None
    return fy.sort_index()


def _plans_array(
    inputs: MoneyInputs,
    la_code: str,
    draws: pd.DataFrame | None,
    n_draws: int,
    years: list[int],
) -> np.ndarray:
    """Return plans[draw, year, group]: published Januaries before the draws' first January,
    the draws after (the draws' first January is the published stock at the origin)."""

    def published() -> pd.DataFrame:
        pub = inputs.januaries[inputs.januaries["la_code"] == la_code]
        return pub.pivot_table(index="year", columns="placement", values="plans", aggfunc="sum").reindex(
            columns=list(PLACEMENT_GROUPS)
        )

    pub_w = inputs.cached(("published_januaries", la_code), published)
    assert isinstance(pub_w, pd.DataFrame)
    first_draw_jan = int(draws["year"].min()) if draws is not None and len(draws) else 10_000
    jans = sorted({y for fy in years for y in (fy, fy + 1)})
    out = np.zeros((n_draws, len(jans), len(PLACEMENT_GROUPS)))
    by_year = _draws_by_year(draws) if draws is not None and len(draws) else None
    for j, y in enumerate(jans):
        if y < first_draw_jan:
            if y not in pub_w.index:
                raise BudgetInputError(
                    f"{la_code}: no published January {y} caseload to model {financial_year_label(y - 1)} or "
                    f"{financial_year_label(y)}"
                )
            out[:, j, :] = np.nan_to_num(pub_w.loc[y].to_numpy(dtype=float))[None, :]
        else:
            assert by_year is not None
            sel = by_year(y)
            if len(sel) != n_draws:
                raise BudgetInputError(f"{la_code}: the forecast has no January {y}: raise the horizon")
            out[:, j, :] = sel
    idx = {y: j for j, y in enumerate(jans)}
    w0, w1 = FY_WEIGHTS
    return np.stack([w0 * out[:, idx[fy], :] + w1 * out[:, idx[fy + 1], :] for fy in years], axis=1)


def _draws_by_year(draws: pd.DataFrame) -> Callable[[int], np.ndarray]:
    """Return ``at(year)``: plans (draws present that January, in draw order) x
    :data:`PLACEMENT_GROUPS`, other groups dropped, absent groups 0: the table
    ``draws.pivot_table(index=[draw, year], columns=placement, values=plans, aggfunc=sum,
    fill_value=0)`` gives, cut at one year. Placement draws have one row per draw, year and
    group, so it is filled in place; a table with repeated rows or missing plans is pivoted."""
    group = np.asarray(pd.Categorical(draws["placement"], categories=list(PLACEMENT_GROUPS)).codes)
    keep = group >= 0
    d_lab, d_idx = np.unique(draws["draw"].to_numpy(), return_inverse=True)
    y_lab, y_idx = np.unique(draws["year"].to_numpy(), return_inverse=True)
    plans = draws["plans"].to_numpy()[keep]
    cell = ((d_idx * len(y_lab) + y_idx) * len(PLACEMENT_GROUPS) + group)[keep]
    if np.unique(cell).size != cell.size or pd.isna(draws["plans"]).any():
        piv = draws.pivot_table(
            index=["draw", "year"], columns="placement", values="plans", aggfunc="sum", fill_value=0
        ).reindex(columns=list(PLACEMENT_GROUPS), fill_value=0)
        return lambda y: piv.xs(y, level="year").sort_index().to_numpy(dtype=float)
    grid = np.zeros((len(d_lab), len(y_lab), len(PLACEMENT_GROUPS)))
    grid.reshape(-1)[cell] = plans
    present = np.zeros((len(d_lab), len(y_lab)), dtype=bool)
    present[d_idx, y_idx] = True
    col = {int(y): i for i, y in enumerate(y_lab)}

    def at(y: int) -> np.ndarray:
        i = col.get(int(y))
        return np.zeros((0, len(PLACEMENT_GROUPS))) if i is None else grid[present[:, i], i, :]

    return at


def cached_allocation(
    inputs: MoneyInputs, la_code: str, measure: str, stage: str, years: list[int], growth: Parameter
) -> pd.DataFrame:
    """:func:`allocation` on ``inputs.observations``, computed once per council, measure,
    stage, years and growth parameter for these inputs (a copy is returned)."""
    key = ("allocation", la_code, measure, stage, tuple(int(y) for y in years), growth.name, id(growth))
    held = inputs.cached(key, lambda: (growth, allocation(inputs.observations, la_code, measure, stage, years, growth)))
    assert isinstance(held, tuple)
    return held[1].copy()


def allocation(
    observations: pd.DataFrame,
    la_code: str,
    measure: str,
    stage: str,
    years: list[int],
    growth: Parameter,
) -> pd.DataFrame:
    """Return ``financial_year, value, basis`` for an allocation: published rows where present,
    else the last published year grown by ``growth`` (prod of (1 + g_t)); NaN when absent."""
    rows = observations[
        (observations["la_code"].astype(str) == la_code)
        & (observations["geographic_level"] == "la")
        & (observations["measure"] == measure)
        & (observations["breakdown"] == stage)
        & observations["value"].notna()
    ]
    if rows.empty:
        return pd.DataFrame({"financial_year": years, "value": np.nan, "basis": "absent"})
    by_year = rows.groupby("year")["value"].sum()
    last = int(by_year.index.max())
    out = []
    for y in years:
        if y in by_year.index:
            out.append((y, float(by_year[y]), f"published {financial_year_label(y)} DSG allocation"))
        elif y > last:
            g = float(np.prod([1 + growth.value_for_financial_year(t) for t in range(last + 1, y + 1)]))
            out.append((y, float(by_year[last]) * g, f"{financial_year_label(last)} x {growth.name}.yaml"))
        else:
            out.append((y, np.nan, "absent"))
    return pd.DataFrame(out, columns=["financial_year", "value", "basis"])


def non_placement_index(inputs: MoneyInputs, la_code: str, costs: CostModel, years: list[int]) -> np.ndarray:
    """Return the factor taking the non-placement amounts (at ``costs.base_year`` prices) to
    each year: with ``costs/non_placement_growth.yaml`` basis ``high_needs_block``, the 2021-22
    amount x block(Y) / block(2021-22) (block after deductions, :func:`allocation`); basis
    ``inflation`` (or no 2021-22 block for the council): ``costs/inflation.yaml``."""
    basis = require(inputs.params, "costs/non_placement_growth").values
    assert isinstance(basis, dict)
    infl = np.array([costs.index(None, int(y)) for y in years])
    if str(basis.get("basis")) == "inflation":
        return infl
    if str(basis.get("basis")) != "high_needs_block":
        raise BudgetInputError(
            "costs/non_placement_growth.yaml: values.basis must be high_needs_block or inflation "
            f"(got {basis.get('basis')!r})"
        )
    want = sorted(set(years) | {S251_YEAR})
    hnb = cached_allocation(
        inputs, la_code, "high_needs_block", HNB_STAGE, want, require(inputs.params, "funding/high_needs_block/growth")
    ).set_index("financial_year")["value"]
    ref = float(hnb[S251_YEAR])
    if not np.isfinite(ref) or ref <= 0:
        return infl
    to_base = inflation_index(inputs.params, S251_YEAR, costs.base_year)  # the amounts' price year move
    return np.array([float(hnb[y]) / ref / to_base for y in years])


def _council_number(la_code: str) -> int:
    return zlib.crc32(la_code.encode()) & 0x7FFFFFFF


def in_safety_valve(inputs: MoneyInputs, la_code: str) -> str | None:
    """The financial-year label of the council's Safety Valve agreement in the store's list."""
    sv = inputs.safety_valve
    if sv.empty:
        return None
    r = sv[sv["la_code"] == la_code]
    return None if r.empty else str(r["agreement_period"].iloc[0])


def compute_budget(
    la_code: str,
    inputs: MoneyInputs,
    *,
    draws: pd.DataFrame | None = None,
    n_draws: int | None = None,
    seed: int = 1,
    agreement: Agreement | None = None,
    first_year: int | None = None,
    last_year: int | None = None,
    opening: Opening | None = None,
    through_year: int | None = None,
    adjust: Adjust | None = None,
    uncertainty: bool = True,
    calibrate: bool = True,
    la_name: str | None = None,
) -> BudgetResult:
    """Return the :class:`BudgetResult` for one council.

    ``draws``: the forecast's placement draws (``la_code, year, draw, placement, plans``; the
    first January is the published stock at the origin); the first forecast year is that
    January's financial year unless ``first_year`` is given. Without draws (a back-cast)
    ``first_year`` and ``last_year`` bound the years and every caseload is published.
    ``opening``: the balance to start from (default: the latest published one at or before
    ``first_year``, agreement balances included). ``through_year``: last outturn year the
    costs may use (a back-cast passes the year before it starts). ``adjust``: a scenario's
    money levers, applied to the line table before the totals. ``calibrate``: add the line
    ``spend:unmodelled`` from the published in-year balances up to the opening balance
    (:func:`unmodelled_share`). Raises
    :class:`BudgetInputError` (one line) when no balance, allocation or caseload is available.
    """
    from sendcast.money.balances import agreement_balances, combine

    params = inputs.params
    names = dict(zip(inputs.councils["la_code"].astype(str), inputs.councils["la_name"].astype(str), strict=True))
    la_name = la_name or names.get(la_code, la_code)
    if agreement is not None and agreement.la_code != la_code:
        raise BudgetInputError(
            f"{agreement.file}: the agreement is for {agreement.council} ({agreement.la_code}), "
            f"not {la_name} ({la_code})"
        )
    if draws is not None and len(draws):
        codes = set(draws["la_code"].astype(str))
        if codes != {la_code}:
            raise BudgetInputError(f"placement draws are for {sorted(codes)}, not {la_code}")
        n = int(draws["draw"].nunique())
        origin = int(draws["year"].min())
        first = origin if first_year is None else first_year
        last = int(draws["year"].max()) - 1
    else:
        if first_year is None or last_year is None:
            raise BudgetInputError("a budget without forecast draws needs first_year and last_year")
        n = n_draws or 1
        first, last = first_year, last_year
    if last_year is not None:
        last = min(last, last_year)
    balances = inputs.balances
    if agreement is not None:
        balances = combine(balances, agreement_balances(agreement, la_name))
    if opening is None:
        opening = opening_balance(balances, la_code, first)
    if opening is None:
        raise BudgetInputError(
            f"{la_name}: no published DSG balance at or before 31 March {first}: give one with --balances "
            "(la_code, financial_year, cumulative_balance, in_year_balance, source) or published_balances "
            "in an agreement file"
        )
    years = list(range(opening.financial_year + 1, last + 1))
    if not years:
        raise BudgetInputError(
            f"{la_name}: the forecast ends (March {last + 1}) before the year after the opening balance "
            f"({opening.as_at}): raise the horizon"
        )
    notes = [
        f"Opening balance: £{opening.value:,.0f} at {opening.as_at} ({opening.derivation}).",
        "January caseloads -> financial year Y: 5/12 x January Y + 7/12 x January Y+1.",
        NOTE_BASIS,
        NOTE_TRANSPORT,
    ]
    sv_year = in_safety_valve(inputs, la_code)
    if sv_year and agreement is None:
        notes.append(
            f"{la_name} has a Safety Valve agreement ({sv_year}); its DfE payments are not in these figures "
            "(give --agreement to include them)."
        )
    costs = inputs.cached(
        ("costs", la_code, through_year),
        lambda: calibrate_costs(inputs.observations, inputs.plans, la_code, params, through_year=through_year),
    )
    assert isinstance(costs, CostModel)
    plans = _plans_array(inputs, la_code, draws, n, years)  # (D, T, G)
    hnb = cached_allocation(
        inputs,
        la_code,
        "high_needs_block",
        HNB_STAGE,
        years,
        require(params, "funding/high_needs_block/growth"),
    )
    if hnb["value"].isna().any():
        gaps = [financial_year_label(int(y)) for y in hnb.loc[hnb["value"].isna(), "financial_year"]]
        raise BudgetInputError(f"{la_name}: no high needs block allocation in the store for {', '.join(gaps)}")

    spread = require(params, "calibration/money_uncertainty").values
    assert isinstance(spread, dict)
    rng = np.random.default_rng((seed, _council_number(la_code)))
    g_sd = float(str(spread["growth_sd"])) if uncertainty else 0.0
    r_sd = float(str(spread["residual_sd"])) if uncertainty else 0.0
    shifts = rng.standard_normal((n, len(PLACEMENT_GROUPS) + 1)) * g_sd  # last column: non-placement
    resid_z = rng.standard_normal((n, len(years)))
    open_u = rng.uniform(-1.0, 1.0, n) * (opening.precision if uncertainty else 0.0)

    yr = np.array(years)
    cols: dict[str, np.ndarray] = {}
    uc_level = costs.unit_costs.set_index("placement")["unit_cost"].astype(float)
    uc_growth = costs.unit_costs.set_index("placement")["growth"].astype(float)
    for gi, g in enumerate(PLACEMENT_GROUPS):
        level = float(uc_level[g])
        growth = float(uc_growth[g])
        steps = (yr - costs.base_year)[None, :]
        if np.isnan(growth):
            base_idx = np.array([costs.index(None, int(y)) for y in years])[None, :]
            idx = base_idx * (1.0 + shifts[:, gi : gi + 1]) ** steps
        else:
            idx = (1.0 + growth + shifts[:, gi : gi + 1]) ** steps
        cols[f"plans:{g}"] = plans[:, :, gi]
        cols[f"spend:{g}"] = plans[:, :, gi] * level * idx
    np_idx = (
        non_placement_index(inputs, la_code, costs, years)[None, :]
        * (1.0 + shifts[:, -1:]) ** (yr - costs.base_year)[None, :]
    )
    base_plans = plans[:, 0, :].sum(axis=1, keepdims=True)
    nat_plans = float(
        inputs.plans[(inputs.plans["la_code"] != "E92000001") & (inputs.plans["financial_year"] == 2021)]["plans"].sum()
    )
    for _, r in costs.non_placement.iterrows():
        if pd.notna(r["amount"]):
            amount = np.full((n, 1), float(r["amount"]))
        else:
            amount = float(r["national_amount"]) / max(nat_plans, 1.0) * base_plans
            notes.append(f"{r['line']}: {r['note']}; national £ per plan x the council's plans used.")
        cols[f"spend:{r['line']}"] = amount * np_idx
    hnb_v = hnb["value"].to_numpy(dtype=float)[None, :]
    cols["spend:residual"] = -r_sd * hnb_v * resid_z  # mean 0; positive = spend above the modelled lines
    if calibrate:
        # keyed on the agreement object (it changes the balances used); kept in the value so its id stays unique
        op_year = opening.financial_year
        agreement_key = id(agreement) if agreement is not None else None
        held = inputs.cached(
            ("unmodelled", la_code, op_year, through_year, agreement_key),
            lambda: (
                agreement,
                unmodelled_share(la_code, inputs, balances, op_year, through_year=through_year, agreement=agreement),
            ),
        )
        assert isinstance(held, tuple)
        share, used_years = held[1]
        if used_years:
            cols["spend:unmodelled"] = np.broadcast_to(share * hnb_v, (n, len(years))).copy()
            notes.append(
                f"Unmodelled spend: {share * 100:+.2f}% of the high needs block a year, "
                f"calibration/balance_residual.yaml x the mean gap between published and modelled in-year balances "
                f"in {', '.join(financial_year_label(y) for y in used_years)}."
            )

    cols["income:high_needs_block"] = np.broadcast_to(hnb_v, (n, len(years))).copy()
    income_rows = [hnb.assign(line="income:high_needs_block")]
    transfer_pct = agreement.by_year("block_transfer") if agreement else {}
    if transfer_pct:
        sb = cached_allocation(
            inputs,
            la_code,
            "schools_block",
            "before_recoupment",
            years,
            require(params, "funding/schools_block/growth"),
        )
        bt = np.array(
            [
                transfer_pct.get(y, 0.0) / 100 * (v if pd.notna(v) else 0.0)
                for y, v in zip(years, sb["value"], strict=True)
            ]
        )
        cols["income:block_transfer"] = np.broadcast_to(bt[None, :], (n, len(years))).copy()
        income_rows.append(
            pd.DataFrame(
                {
                    "financial_year": years,
                    "value": bt,
                    "basis": [
                        f"{transfer_pct.get(y, 0.0)}% x schools block ({b})"
                        for y, b in zip(years, sb["basis"], strict=True)
                    ],
                    "line": "income:block_transfer",
                }
            )
        )
    for which, line in (
        ("council_contributions", "income:council_contribution"),
        ("safety_valve_payments", "income:safety_valve"),
    ):
        amounts = agreement.by_year(which) if agreement else {}
        if amounts and agreement is not None:
            v = np.array([amounts.get(y, 0.0) for y in years])
            cols[line] = np.broadcast_to(v[None, :], (n, len(years))).copy()
            income_rows.append(
                pd.DataFrame({"financial_year": years, "value": v, "basis": f"{agreement.file}: {which}", "line": line})
            )

    index = pd.MultiIndex.from_product([range(n), years], names=["draw", "financial_year"])
    wide = pd.DataFrame({k: v.reshape(-1) for k, v in cols.items()}, index=index)
    if adjust is not None:
        wide = adjust(wide)
    wide = dsg_balance(wide, opening.value + open_u)

    long = wide.reset_index().melt(id_vars=["draw", "financial_year"], var_name="line", value_name="value")
    open_rows = pd.DataFrame(
        {
            "financial_year": opening.financial_year,
            "draw": range(n),
            "line": "cumulative_balance",
            "value": opening.value + open_u,
        }
    )
    lines = pd.concat([open_rows, long[LINE_COLUMNS]], ignore_index=True)
    origin_fy = first if draws is not None and len(draws) else last + 1
    year_type = {opening.financial_year: "published"}
    year_type.update({y: ("back-cast" if y < origin_fy else "forecast") for y in years})
    used = [p for k, p in sorted(params.items()) if k.startswith(("costs/", "funding/", "calibration/"))]
    return BudgetResult(
        la_code=la_code,
        la_name=la_name,
        lines=lines,
        year_type=year_type,
        opening=opening,
        income=pd.concat(income_rows, ignore_index=True),
        costs=costs,
        parameters=used,
        agreement=agreement,
        notes=notes,
    )


def unmodelled_share(
    la_code: str,
    inputs: MoneyInputs,
    balances: pd.DataFrame,
    opening_year: int,
    *,
    through_year: int | None,
    agreement: Agreement | None,
) -> tuple[float, list[int]]:
    """Return (share of the high needs block, years used): ``w x mean over published years of
    (modelled in-year - published in-year) / block``, w from ``calibration/balance_residual.yaml``
    for the first modelled year (``opening_year + 1``),
    over the council's published in-year balances up to ``opening_year`` that can be modelled
    (published caseloads and allocations), with the same costs and agreement and no spreads.
    Positive = the council spends more than the modelled lines. (0, []) when none."""
    rows = balances[(balances["la_code"] == la_code) & (balances["financial_year"] <= opening_year)]
    b = rows[rows["in_year_balance"].notna()].set_index("financial_year")["in_year_balance"].astype(float)
    years = sorted(int(y) for y in b.index)
    if not years:
        return 0.0, []
    op = Opening(years[0] - 1, 0.0, 0.0, "calibration", "calibration run")
    try:
        past = compute_budget(
            la_code,
            inputs,
            n_draws=1,
            first_year=years[0],
            last_year=years[-1],
            opening=op,
            through_year=through_year,
            agreement=agreement,
            uncertainty=False,
            calibrate=False,
        )
    except BudgetInputError:
        return 0.0, []
    iy = past.line("in_year_balance").set_index("financial_year")["value"]
    hnb = past.line("income:high_needs_block").set_index("financial_year")["value"]
    gaps = [(float(iy[y]) - float(b[y])) / float(hnb[y]) for y in years if y in iy.index]
    persistence = require(inputs.params, "calibration/balance_residual")
    first_dated = persistence.dated[0].start.year if persistence.dated else opening_year + 1
    w = persistence.value_for_financial_year(max(opening_year + 1, first_dated))
    return w * float(np.mean(gaps)), years


def dsg_balance(wide: pd.DataFrame, opening: np.ndarray | float) -> pd.DataFrame:
    """Return ``wide`` (index draw, financial_year; ``spend:*`` and ``income:*`` columns) with
    ``spend_total``, ``income_total``, ``in_year_balance_before_agreement`` (block less spend),
    ``in_year_balance`` and ``cumulative_balance`` = opening (per draw) + running sum of
    in-year balances. The only place the DSG balance is summed."""
    wide = wide.sort_index()
    spend = [c for c in wide.columns if c.startswith("spend:")]
    income = [c for c in wide.columns if c.startswith("income:")]
    wide["spend_total"] = wide[spend].sum(axis=1)
    wide["income_total"] = wide[income].sum(axis=1)
    wide["in_year_balance_before_agreement"] = wide["income:high_needs_block"] - wide["spend_total"]
    wide["in_year_balance"] = wide["income_total"] - wide["spend_total"]
    draws = wide.index.get_level_values("draw").to_numpy()
    op = np.broadcast_to(np.asarray(opening, dtype=float), (int(draws.max()) + 1,))
    wide["cumulative_balance"] = op[draws] + wide.groupby(level="draw")["in_year_balance"].cumsum().to_numpy()
    return wide


def summarise(result: BudgetResult) -> pd.DataFrame:
    """Return ``financial_year, line, mean, p10, p50, p90`` over draws for every line.

    Computed once per line table: a report that asks again (headline, table, file) gets a
    copy of the same summary while ``result.lines`` is the same table."""
    held = result._summary
    if held is not None and held[0] is result.lines:
        return held[1].copy()
    out = _summarise(result.lines)
    result._summary = (result.lines, out)
    return out.copy()


def _summarise(lines: pd.DataFrame) -> pd.DataFrame:
    g = lines.groupby(["financial_year", "line"], sort=False)["value"]
    s = g.agg(mean="mean", p50="median")
    # p10 and p90 exactly as Series.quantile computes them (np.percentile of the non-missing
    # values at q x 100), on the groups' values cut from one sorted array
    codes = g.ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    values = lines["value"].to_numpy(dtype=float)[order]
    bounds = np.searchsorted(codes[order], np.arange(len(s) + 1))
    pct = np.array([0.1, 0.9]) * 100
    q = np.full((len(s), 2), np.nan)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        v = values[a:b]
        v = v[~np.isnan(v)]
        if v.size:
            q[i] = np.percentile(v, pct)
    s.insert(1, "p10", q[:, 0])
    s["p90"] = q[:, 1]
    return s.reset_index()


def sum_results(results: list[BudgetResult], la_code: str = "E92000001", la_name: str = "England") -> BudgetResult:
    """Return the draw-by-draw sum of councils' budgets (same draws and years): England's.

    Only lines every council has are summed; years are those all share."""
    if not results:
        raise BudgetInputError("no council budgets to add up")
    common_years = set.intersection(*(set(r.lines["financial_year"]) for r in results))
    keep = ["spend_total", "income_total", "in_year_balance", "in_year_balance_before_agreement", "cumulative_balance"]
    keep += [f"spend:{g}" for g in PLACEMENT_GROUPS] + [f"plans:{g}" for g in PLACEMENT_GROUPS]
    keep += ["income:high_needs_block"]
    parts = []
    for r in results:
        x = r.lines[r.lines["financial_year"].isin(common_years) & r.lines["line"].isin(keep)]
        parts.append(x)
    allx = pd.concat(parts, ignore_index=True)
    tot = allx.groupby(["financial_year", "draw", "line"], as_index=False)["value"].sum()
    first = min(common_years)
    # the opening year only has cumulative balances for councils opening then; keep it only if all do
    year_type = {y: results[0].year_type.get(y, "forecast") for y in sorted(common_years)}
    opening_v = float(tot[(tot["financial_year"] == first) & (tot["line"] == "cumulative_balance")]["value"].mean())
    op = Opening(first, opening_v, 0.0, "sum", f"sum of {len(results)} councils' opening balances")
    return BudgetResult(
        la_code=la_code,
        la_name=la_name,
        lines=pd.DataFrame(tot[LINE_COLUMNS]),
        year_type=year_type,
        opening=op,
        income=pd.DataFrame(),
        costs=None,
        parameters=results[0].parameters,
        notes=[f"Sum of {len(results)} councils, draw by draw."],
    )


def national_check(inputs: MoneyInputs, financial_year: int = 2021) -> pd.DataFrame:
    """Return the national check of the income basis for a year with s251 outturn: councils'
    s251 high-needs lines (£), the block before and after deductions, the gap each basis gives,
    and the published change in England's cumulative DSG balance."""
    from sendcast.money.unit_costs import s251_lines

    obs = inputs.observations
    line_map = require(inputs.params, "costs/s251_line_map").values
    assert isinstance(line_map, dict)
    lines = s251_lines(obs, "E92000001")
    spend = 0.0
    for k, v in line_map.items():
        if str(v).startswith("total:") or k not in lines.index:
            continue
        spend += -float(lines[k]) if str(v).startswith("income_netted") else float(lines[k])
    la = obs[
        (obs["geographic_level"] == "la") & (obs["measure"] == "high_needs_block") & (obs["year"] == financial_year)
    ]
    before = float(la[la["breakdown"] == "before_deductions"]["value"].sum())
    after = float(la[la["breakdown"] == "after_deductions"]["value"].sum())
    b = inputs.balances[
        (inputs.balances["la_code"] == "E92000001") & (inputs.balances["financial_year"] == financial_year)
    ]
    pub = float(b["in_year_balance"].iloc[0]) if len(b) else float("nan")
    rows = [
        ("councils' s251 high-needs outturn (all mapped lines)", spend),
        ("high needs block before deductions", before),
        ("high needs block after deductions", after),
        ("in-year balance, before-deductions basis", before - spend),
        ("in-year balance, after-deductions basis (used)", after - spend),
        ("published change in England's cumulative DSG balance", pub),
    ]
    return pd.DataFrame(rows, columns=["item", "gbp"]).assign(financial_year=financial_year_label(financial_year))


__all__ = [
    "NON_PLACEMENT_LINES",
    "SPECIALIST",
    "BudgetInputError",
    "BudgetResult",
    "MoneyInputs",
    "allocation",
    "caseload_by_financial_year",
    "compute_budget",
    "dsg_balance",
    "load_inputs",
    "national_check",
    "summarise",
    "sum_results",
]
