"""A stock-flow model by placement group and primary need, estimated from a council's own returns.

States are (age at 31 August = NCY + 4, placement group, primary need); a year's step is the
one :mod:`sendcast.personlevel.truth` describes (age, cease, move, need change, joiners), with
every rate estimated from the council's linked returns (:func:`sendcast.personlevel.derive.transitions`):

- ceasing, by (age band, group, need): a beta-binomial hierarchy. Each (age band, group) rate is
  pulled toward the national ceasing rate of its age band (England, published SEN2: ceased plans
  in the calendar year over the January caseload) with a strength estimated from how much
  councils' published ceasing rates vary; each need's rate is pulled toward its (band, group)
  rate with a strength chosen by maximising the beta-binomial marginal likelihood (empirical
  Bayes). Where a need is thin, its rate is essentially the (band, group) one.
- moves between groups, by (phase-transfer class, group, need): Dirichlet-multinomial, pooled
  the same way toward the (class, group) pattern.
- need changes, by need (beta-binomial toward the overall rate) and their destinations (Dirichlet).
- joiners: a Poisson log-linear trend in the yearly count (quasi-Poisson dispersion when the
  years allow), split by age, need given the age band, and group given band and need (each
  Dirichlet, pooled).

Uncertainty: :func:`forecast` draws every rate from its posterior once per draw, then simulates
binomial and multinomial flows, so intervals carry both estimation and year-to-year noise.
Published outputs of it go through :func:`sendcast.personlevel.report.protect_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from sendcast.model.structure import GROUPS, N_GROUPS
from sendcast.personlevel.codes import NEEDS
from sendcast.personlevel.derive import census_dates, joiner_records, transitions
from sendcast.personlevel.truth import (
    BAND,
    MAX_AGE,
    N_BANDS,
    N_NEEDS,
    TRANSFER_CLASSES,
    transfer_class,
)

K_GRID = np.geomspace(0.5, 5000, 60)
N_CLASSES = len(TRANSFER_CLASSES)
GI = {g: i for i, g in enumerate(GROUPS)}
NI = {n: i for i, n in enumerate(NEEDS)}


# --------------------------------------------------------------------------- pooling


def eb_beta_strength(x: np.ndarray, n: np.ndarray, p0: np.ndarray) -> float:
    """Prior strength k maximising the beta-binomial marginal likelihood of successes ``x`` in
    ``n`` trials, each cell's prior mean ``p0`` (cells with n = 0 carry no information)."""
    x, n, p0 = (np.asarray(v, dtype=float).ravel() for v in (x, n, p0))
    m = n > 0
    x, n, p0 = x[m], n[m], np.clip(p0[m], 1e-6, 1 - 1e-6)
    if len(x) == 0:
        return float(K_GRID[-1])
    ll = [np.sum(betaln(k * p0 + x, k * (1 - p0) + n - x) - betaln(k * p0, k * (1 - p0))) for k in K_GRID]
    return float(K_GRID[int(np.argmax(ll))])


def eb_dirichlet_strength(counts: np.ndarray, p0: np.ndarray) -> float:
    """Prior strength k maximising the Dirichlet-multinomial marginal likelihood of ``counts``
    (cells, k categories) with prior means ``p0`` (cells, k)."""
    c = np.asarray(counts, dtype=float).reshape(-1, counts.shape[-1])
    p = np.clip(np.asarray(p0, dtype=float).reshape(-1, counts.shape[-1]), 1e-9, None)
    p = p / p.sum(axis=1, keepdims=True)
    m = c.sum(axis=1) > 0
    c, p = c[m], p[m]
    if len(c) == 0:
        return float(K_GRID[-1])
    n = c.sum(axis=1)
    ll = []
    for k in K_GRID:
        a = k * p
        ll.append(np.sum(gammaln(k) - gammaln(k + n) + np.sum(gammaln(a + c) - gammaln(a), axis=1)))
    return float(K_GRID[int(np.argmax(ll))])


def national_ceasing(store: Any | None = None) -> tuple[np.ndarray | None, float | None]:
    """(England's yearly ceasing rate by age band, prior strength from councils' spread), from the
    published SEN2 aggregates in the store; (None, None) when they are not there."""
    from sendcast.store import StoreError, open_store

    try:
        st = store or open_store()
        obs = st.observations(measure="ceased_plans")
        series = st.table("series")
    except (StoreError, FileNotFoundError, KeyError):
        return None, None
    jan = series[series["period_type"] == "january"]
    eng = jan[jan["la_code"] == "E92000001"]
    by_age = obs[(obs["geographic_level"] == "national") & (obs["breakdown_topic"] == "age")]
    if by_age.empty or eng.empty:
        return None, None
    y = int(by_age["year"].max())
    ceased = by_age[by_age["year"] == y].groupby("breakdown")["value"].sum()
    stock_years = sorted(set(eng.loc[eng["measure"].str.match(r"^age_\d+$"), "year"]))
    if not stock_years:
        return None, None
    sy = min(stock_years, key=lambda v: abs(v - y))
    stock = eng[(eng["year"] == sy) & eng["measure"].str.match(r"^age_\d+$")].set_index("measure")["value"]
    num, den = np.zeros(N_BANDS), np.zeros(N_BANDS)
    for label, v in ceased.items():
        lab = str(label)
        age = 1 if lab == "2_and_under" else 22 if lab == "20_and_over" else int(lab) if lab.isdigit() else None
        if age is not None:
            num[BAND[age]] += float(v)
    for m, v in stock.items():
        den[BAND[int(str(m)[4:])]] += float(v)
    rate = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    # spread of councils' total ceasing rates -> a beta prior strength (method of moments)
    tot = obs[(obs["geographic_level"] == "la") & (obs["breakdown_topic"] == "total") & (obs["year"] == y)]
    cl = jan[(jan["measure"] == "ehcp_total") & (jan["year"] == y)].set_index("la_code")["value"]
    r = (tot.set_index("la_code")["value"] / cl).dropna()
    r = r[(r > 0) & (r < 1)]
    if len(r) < 10 or np.isnan(rate).any():
        return None, None
    mu, var = float(r.mean()), float(r.var())
    binom = float(np.mean(r * (1 - r) / cl.reindex(r.index)))  # sampling noise inside the spread
    between = max(var - binom, 1e-6)
    return rate, float(np.clip(mu * (1 - mu) / between - 1, 1.0, 5000.0))


# --------------------------------------------------------------------------- fit


@dataclass
class NeedModel:
    """Posterior parameters of the model (see the module docstring); arrays indexed by the
    state space (band, group, need ...)."""

    la: str
    origin: int  # the last census year
    stock: np.ndarray  # (age, group, need) at the last census
    cease_a: np.ndarray  # beta posterior (band, group, need)
    cease_b: np.ndarray
    move_alpha: np.ndarray  # Dirichlet posterior (class, group, need, group)
    need_a: np.ndarray  # beta posterior of a need change (need)
    need_b: np.ndarray
    need_dest_alpha: np.ndarray  # Dirichlet (need)
    join_coef: np.ndarray  # Poisson trend (intercept at the origin year, slope)
    join_cov: np.ndarray
    join_dispersion: float
    join_age_alpha: np.ndarray  # Dirichlet (age)
    join_need_alpha: np.ndarray  # Dirichlet (band, need)
    join_group_alpha: np.ndarray  # Dirichlet (band, need, group)
    strengths: dict[str, float] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    joiners_by_year: list[int] = field(default_factory=list)

    def cease_interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, lower, upper) of the ceasing rate by (band, group, need)."""
        from scipy.stats import beta

        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        return (self.cease_a / (self.cease_a + self.cease_b), beta.ppf(lo, self.cease_a, self.cease_b),
                beta.ppf(hi, self.cease_a, self.cease_b))  # fmt: skip

    def move_interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, lower, upper) of each move probability (marginal beta of the Dirichlet)."""
        from scipy.stats import beta

        a = self.move_alpha
        tot = a.sum(axis=-1, keepdims=True)
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        return a / tot, beta.ppf(lo, a, tot - a), beta.ppf(hi, a, tot - a)


def _state_index(df: pd.DataFrame, age_col: str, group_col: str, need_col: str) -> tuple[np.ndarray, ...]:
    age = np.clip(df[age_col].to_numpy(dtype=float), 0, MAX_AGE).astype(int)
    g = df[group_col].map(GI).fillna(GI["other"]).to_numpy(dtype=int)  # unknown placement -> other
    n = df[need_col].map(NI).fillna(NI["OTH"]).to_numpy(dtype=int)  # unknown need -> other
    return age, g, n


def _poisson_trend(years: np.ndarray, counts: np.ndarray, origin: int, slope_sd: float
                   ) -> tuple[np.ndarray, np.ndarray, float]:  # fmt: skip
    """Posterior mode and covariance of log-linear Poisson (intercept at ``origin``, slope) with a
    N(0, slope_sd^2) prior on the slope (Laplace approximation; Newton steps)."""
    x = (years - origin).astype(float)
    X = np.column_stack([np.ones_like(x), x])
    beta = np.array([np.log(max(counts.mean(), 0.5)), 0.0])
    prior_prec = np.diag([0.0, 1 / slope_sd**2])
    for _ in range(50):
        mu = np.exp(X @ beta)
        grad = X.T @ (counts - mu) - prior_prec @ beta
        hess = X.T @ (X * mu[:, None]) + prior_prec
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    mu = np.exp(X @ beta)
    dispersion = 1.0
    if len(counts) >= 4:
        dispersion = max(1.0, float(np.sum((counts - mu) ** 2 / mu) / (len(counts) - 2)))
    cov = np.linalg.inv(X.T @ (X * mu[:, None]) / dispersion + prior_prec)
    return beta, cov, dispersion


def fit(tables: dict[str, pd.DataFrame], manifest: dict[str, Any], *, store: Any | None = None,
        settings: dict[str, float] | None = None) -> NeedModel:  # fmt: skip
    """Estimate the model from a SEN2 store's tables (needs at least two consecutive returns)."""
    from sendcast.personlevel.report import pooling_settings

    cfg = settings or pooling_settings()
    tr = transitions(tables, manifest)
    if tr.empty:
        raise ValueError("the model needs at least two consecutive census years in the store")
    dates = census_dates(manifest)
    origin = max(dates)
    a0 = tr["ncy"].to_numpy(dtype=float) + 4
    tr = tr.assign(_a=a0, _a1=a0 + 1)
    valid = np.isfinite(a0)
    tr = tr[valid]
    a, g, n = _state_index(tr, "_a1", "placement_group", "primary_need")
    left = (tr["outcome"] != "continuing").to_numpy()
    # ceasing (age-outs are certain, not estimated)
    est = a < MAX_AGE
    b = BAND[a]
    x = np.zeros((N_BANDS, N_GROUPS, N_NEEDS))
    m = np.zeros_like(x)
    np.add.at(x, (b[est], g[est], n[est]), left[est])
    np.add.at(m, (b[est], g[est], n[est]), 1)
    xb, mb = x.sum(axis=2), m.sum(axis=2)
    nat_rate, nat_k = national_ceasing(store)
    if nat_rate is None or nat_k is None:  # pool toward the council's own band rate instead
        nat_rate = (xb.sum(axis=1) + 0.5) / (mb.sum(axis=1) + 1)
        nat_k = eb_beta_strength(xb, mb, np.repeat(nat_rate[:, None], N_GROUPS, axis=1))
    p_bg = (xb + nat_k * nat_rate[:, None]) / (mb + nat_k)
    k_need = eb_beta_strength(x, m, np.repeat(p_bg[:, :, None], N_NEEDS, axis=2))
    cease_a = k_need * p_bg[:, :, None] + x
    cease_b = k_need * (1 - p_bg[:, :, None]) + (m - x)
    # moves
    cont = ~left & tr["next_group"].notna().to_numpy()
    a_c, g_c, n_c = a[cont], g[cont], n[cont]
    dest = tr.loc[cont, "next_group"].map(GI).fillna(GI["other"]).to_numpy(dtype=int)
    cls = transfer_class(a_c)
    mv = np.zeros((N_CLASSES, N_GROUPS, N_NEEDS, N_GROUPS))
    np.add.at(mv, (cls, g_c, n_c, dest), 1)
    mv_cg = mv.sum(axis=2)  # (class, group, dest)
    base = np.full(N_GROUPS, cfg["move_prior_pseudocount"] / N_GROUPS)
    p_cg = (mv_cg + base) / (mv_cg + base).sum(axis=-1, keepdims=True)
    k_move = eb_dirichlet_strength(mv, np.repeat(p_cg[:, :, None, :], N_NEEDS, axis=2))
    move_alpha = k_move * p_cg[:, :, None, :] + mv
    # need changes
    nn = tr.loc[cont, "next_need"].map(NI).fillna(NI["OTH"]).to_numpy(dtype=int)
    changed = nn != n_c
    xc, mc = np.bincount(n_c[changed], minlength=N_NEEDS), np.bincount(n_c, minlength=N_NEEDS)
    p_change = (xc.sum() + 0.5) / (mc.sum() + 1)
    k_nc = eb_beta_strength(xc, mc, np.full(N_NEEDS, p_change))
    need_a = k_nc * p_change + xc
    need_b = k_nc * (1 - p_change) + (mc - xc)
    need_dest_alpha = np.bincount(nn[changed], minlength=N_NEEDS) + 0.5
    # joiners
    j = joiner_records(tables, manifest)
    years = np.array(sorted(y for y in dates if y - 1 in dates))
    counts = np.array([int((j["census_year"] == y).sum()) for y in years], dtype=float)
    coef, cov, disp = _poisson_trend(years, counts, origin, cfg["joiner_growth_prior_sd"])
    ja, jg, jn = _state_index(j.assign(_a=j["ncy"].astype(float) + 4).dropna(subset=["_a"]), "_a",
                              "placement_group", "primary_need")  # fmt: skip
    age_alpha = np.bincount(ja, minlength=MAX_AGE + 1).astype(float) + cfg["join_age_pseudocount"]
    age_alpha[MAX_AGE] = 1e-9
    jb = BAND[ja]
    jneed = np.zeros((N_BANDS, N_NEEDS))
    np.add.at(jneed, (jb, jn), 1)
    p_need = (jneed.sum(axis=0) + 0.5) / (jneed.sum() + 0.5 * N_NEEDS)
    k_jn = eb_dirichlet_strength(jneed, np.tile(p_need, (N_BANDS, 1)))
    join_need_alpha = k_jn * p_need[None, :] + jneed
    jgrp = np.zeros((N_BANDS, N_NEEDS, N_GROUPS))
    np.add.at(jgrp, (jb, jn, jg), 1)
    gb = jgrp.sum(axis=1) + cfg["move_prior_pseudocount"] / N_GROUPS
    p_gb = gb / gb.sum(axis=-1, keepdims=True)
    k_jg = eb_dirichlet_strength(jgrp, np.repeat(p_gb[:, None, :], N_NEEDS, axis=1))
    join_group_alpha = k_jg * p_gb[:, None, :] + jgrp
    # the stock at the origin
    last = tables["caseload"]
    last = last[last["census_year"] == origin].drop_duplicates("person_id")
    last = last.assign(_a=last["ncy"].astype(float) + 4).dropna(subset=["_a"])
    sa, sg, sn = _state_index(last, "_a", "placement_group", "primary_need")
    stock = np.zeros((MAX_AGE + 1, N_GROUPS, N_NEEDS))
    np.add.at(stock, (sa, sg, sn), 1)
    return NeedModel(
        la=str(manifest["lea"]), origin=origin, stock=stock, cease_a=cease_a, cease_b=cease_b, move_alpha=move_alpha,
        need_a=need_a, need_b=need_b, need_dest_alpha=need_dest_alpha, join_coef=coef, join_cov=cov,
        join_dispersion=disp, join_age_alpha=age_alpha, join_need_alpha=join_need_alpha,
        join_group_alpha=join_group_alpha,
        strengths={"cease_national": nat_k, "cease_need": k_need, "move_need": k_move, "need_change": k_nc,
                   "join_need": k_jn, "join_group": k_jg},
        years=[int(v) for v in years], joiners_by_year=[int(v) for v in counts],
    )  # fmt: skip


# --------------------------------------------------------------------------- simulate


def _dirichlet(rng: np.random.Generator, alpha: np.ndarray, draws: int) -> np.ndarray:
    """Dirichlet draws over the last axis: shape (draws, *alpha.shape)."""
    g = rng.gamma(np.broadcast_to(np.maximum(alpha, 1e-9), (draws, *alpha.shape)))
    s = g.sum(axis=-1, keepdims=True)
    return g / np.where(s > 0, s, 1)


def forecast(model: NeedModel, *, horizon: int = 5, draws: int = 1000, seed: int = 1) -> pd.DataFrame:
    """Simulated plans at each January ``origin+1 .. origin+horizon``, long format: draw, year,
    placement_group, primary_need, plans (exact counts: protect before publishing)."""
    rng = np.random.default_rng(seed)
    D, A = draws, MAX_AGE + 1
    cease = rng.beta(np.broadcast_to(model.cease_a, (D, *model.cease_a.shape)),
                     np.broadcast_to(model.cease_b, (D, *model.cease_b.shape)))  # (D, band, g, n)
    cease_age = cease[:, BAND]  # (D, age, g, n): indexed by the age reached
    cease_age[:, MAX_AGE] = 1.0
    move = _dirichlet(rng, model.move_alpha, D)  # (D, class, g, n, g')
    cls = transfer_class(np.arange(A))
    move_age = move[:, cls]  # (D, age, g, n, g')
    young = np.arange(A) < 16
    shifted = move_age[:, young, :, :, GI["post16_fe"]]
    move_age[:, young, :, :, GI["other"]] += shifted
    move_age[:, young, :, :, GI["post16_fe"]] = 0.0
    q = rng.beta(np.broadcast_to(model.need_a, (D, N_NEEDS)), np.broadcast_to(model.need_b, (D, N_NEEDS)))
    dest = _dirichlet(rng, np.tile(model.need_dest_alpha, (N_NEEDS, 1)), D)  # (D, n, n')
    idx = np.arange(N_NEEDS)
    dest[:, idx, idx] = 0.0
    dest /= np.maximum(dest.sum(axis=-1, keepdims=True), 1e-12)
    coef = rng.multivariate_normal(model.join_coef, model.join_cov, size=D)  # (D, 2)
    j_age = _dirichlet(rng, model.join_age_alpha, D)  # (D, age)
    j_need = _dirichlet(rng, model.join_need_alpha, D)[:, BAND]  # (D, age, n)
    j_group = _dirichlet(rng, model.join_group_alpha, D)[:, BAND]  # (D, age, n, g)
    ages = np.arange(A)
    jg_r = j_group.copy()
    jg_r[:, young, :, GI["other"]] += jg_r[:, young, :, GI["post16_fe"]]
    jg_r[:, young, :, GI["post16_fe"]] = 0.0
    join_p = j_age[:, :, None, None] * j_need[:, :, :, None] * jg_r  # (D, age, n, g)
    join_p = np.moveaxis(join_p, 3, 2).reshape(D, -1)  # (D, age*g*n)
    join_p /= join_p.sum(axis=1, keepdims=True)

    stock = np.broadcast_to(model.stock, (D, A, N_GROUPS, N_NEEDS)).astype(np.int64).copy()
    out = []
    for h in range(1, horizon + 1):
        aged = np.zeros_like(stock)
        aged[:, 1:] = stock[:, :-1]  # age rises by one; the oldest (25) left last year
        ceased = rng.binomial(aged, cease_age)
        stay = aged - ceased
        moved = rng.multinomial(stay, move_age)  # (D, age, g, n, g')
        new = moved.sum(axis=2)  # (D, age, n, g')
        new = np.moveaxis(new, 3, 2)  # (D, age, g', n)
        change = rng.binomial(new, np.broadcast_to(q[:, None, None, :], new.shape))
        to = rng.multinomial(change, np.broadcast_to(dest[:, None, None, :, :], (*new.shape, N_NEEDS)))
        new = new - change + to.sum(axis=3)
        lam = np.exp(coef[:, 0] + coef[:, 1] * h)
        if model.join_dispersion > 1.0:  # quasi-Poisson: gamma-Poisson with the same mean and variance
            shape = lam / (model.join_dispersion - 1)
            lam = rng.gamma(shape, lam / shape)
        nj = rng.poisson(lam)
        joins = np.stack([rng.multinomial(nj[d], join_p[d]) for d in range(D)]).reshape(D, A, N_GROUPS, N_NEEDS)
        stock = new + joins
        tot = stock.sum(axis=1)  # (D, g, n)
        d_i, g_i, n_i = np.meshgrid(np.arange(D), np.arange(N_GROUPS), np.arange(N_NEEDS), indexing="ij")
        out.append(pd.DataFrame({"draw": d_i.ravel(), "year": model.origin + h,
                                 "placement_group": np.asarray(GROUPS)[g_i.ravel()],
                                 "primary_need": np.asarray(NEEDS)[n_i.ravel()], "plans": tot.ravel()}))  # fmt: skip
    del ages
    return pd.concat(out, ignore_index=True)


def summarise(draws: pd.DataFrame, by: tuple[str, ...] = ("primary_need",), levels: tuple[float, ...] = (0.1, 0.9)
              ) -> pd.DataFrame:  # fmt: skip
    """Mean, median and percentiles of the simulated plans by year and ``by`` (with a total)."""
    keys = ["year", *by]
    g = draws.groupby(["draw", *keys])["plans"].sum().reset_index()
    tot = draws.groupby(["draw", "year"])["plans"].sum().reset_index()
    for b in by:
        tot[b] = "total"
    g = pd.concat([g, tot], ignore_index=True)
    q = g.groupby(keys)["plans"]
    out = q.mean().rename("mean").to_frame()
    out["p50"] = q.quantile(0.5)
    for lv in levels:
        out[f"p{round(lv * 100)}"] = q.quantile(lv)
    return out.reset_index()
