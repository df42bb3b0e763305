"""A stock-flow model by placement group and primary need, estimated from a council's own returns.

States are (age at 31 August = NCY + 4, placement group, primary need); a year's step is the
one :mod:`sendcast.personlevel.truth` describes (age, cease, move, need change, joiners), with
every rate estimated from the council's linked returns (:func:`sendcast.personlevel.derive.transitions`):

- leaving (ceasing, or absent from the next return), by (age band, group, need): a logistic model
  with an (age band x group) term and a need term, fitted as the log-linear model
  [band.group.need][band.group.outcome][need.outcome] by iterative proportional fitting (Bishop,
  Fienberg and Holland, *Discrete Multivariate Analysis*, 1975, ch. 3). A need's effect is thus
  learnt from all its plans, whatever their age and placement, so a need that is thin in one cell
  borrows from the others. Each (band, group) term is pooled toward England's published ceasing
  rate of its age band (ceased plans in the calendar year over the January caseload) by adding
  that many pseudo-plans, the number estimated from how much councils' published rates vary.
- moving group, by (phase-transfer class -- outside the transfers, under and over 16 --, group,
  need): whether a plan moves (logistic as above) and, if it moves, where to
  ([class.group.need][class.group.destination][need.destination]).
- primary need changes, by need (beta-binomial, pulled toward the overall rate with an
  empirical-Bayes strength), and their destinations.
- joiners: a Poisson log-linear trend in the yearly count (quasi-Poisson dispersion when the
  years allow) with a weak prior on its slope; their age, their need given the age band (pulled
  toward the all-ages mix, empirical Bayes) and their group ([band.need][band.group][need.group]).

Uncertainty: every rate is re-estimated on ``bootstrap_replicates`` Poisson-bootstrap resamples
of the people (a person's records move together); :func:`forecast` gives each draw one
replicate's rates and then simulates binomial and multinomial flows, so its intervals carry both
estimation and year-to-year noise. :meth:`NeedModel.cease_interval` and
:meth:`NeedModel.move_interval` give the stated uncertainty of each rate. Published outputs of
the model go through :func:`sendcast.personlevel.report.protect_counts`.
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
# the phase transfers, and outside them school age apart from post-16 (FE colleges take 16+)
MODEL_CLASSES = (*TRANSFER_CLASSES, "none_post16")
N_CLASSES = len(MODEL_CLASSES)
N_AGES = MAX_AGE + 1
GI = {g: i for i, g in enumerate(GROUPS)}
NI = {n: i for i, n in enumerate(NEEDS)}
TINY = 1e-6  # exposure given to empty cells so the fitted model predicts them too


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


# --------------------------------------------------------------------------- log-linear fits


def ipf3(table: np.ndarray, allowed: np.ndarray | None = None, iters: int = 500, tol: float = 1e-6) -> np.ndarray:
    """Fitted counts of the log-linear model [ABC][ABD][CD] for a table (A, B, C, D), by
    iterative proportional fitting; ``allowed`` marks cells that can be non-zero (structural
    zeros elsewhere). Every (A, B, C) cell gets a tiny exposure so that empty cells are
    predicted by the model (their fitted shares follow the [ABD] and [CD] terms)."""
    t = np.asarray(table, dtype=float)
    ok = np.ones(t.shape, dtype=bool) if allowed is None else np.broadcast_to(allowed, t.shape)
    m1 = t.sum(axis=3) + TINY
    m2 = t.sum(axis=2) + TINY * t.shape[2] / t.shape[3]
    m3 = t.sum(axis=(0, 1)) + TINY * t.shape[0] * t.shape[1] / t.shape[3]
    fit = ok.astype(float)
    for _ in range(iters):
        prev = fit
        fit = fit * _ratio(m1, fit.sum(axis=3))[..., None]
        fit = fit * _ratio(m2, fit.sum(axis=2))[:, :, None, :]
        fit = fit * _ratio(m3, fit.sum(axis=(0, 1)))[None, None]
        if np.abs(fit - prev).max() < tol:
            break
    return fit


def model_class(age: np.ndarray) -> np.ndarray:
    """Index into :data:`MODEL_CLASSES` for ages reached at 31 August."""
    c = transfer_class(age)
    return np.where((c == 0) & (np.asarray(age) >= 16), len(TRANSFER_CLASSES), c)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def shares(fit: np.ndarray) -> np.ndarray:
    """Fitted counts -> probabilities over the last axis."""
    s = fit.sum(axis=-1, keepdims=True)
    return fit / np.where(s > 0, s, 1)


# --------------------------------------------------------------------------- fit


@dataclass
class Records:
    """The records the rates are estimated from, as index arrays (one entry per record)."""

    person: np.ndarray  # index of the person (for the bootstrap)
    a1: np.ndarray  # age at the next August
    g: np.ndarray
    n: np.ndarray
    left: np.ndarray  # bool
    dest: np.ndarray  # next group (continuing records), else -1
    next_need: np.ndarray
    j_person: np.ndarray
    j_age: np.ndarray
    j_group: np.ndarray
    j_need: np.ndarray
    n_people: int


@dataclass
class Rates:
    """One set of rates (a point estimate, or one bootstrap replicate)."""

    cease: np.ndarray  # (band, group, need)
    move: np.ndarray  # (class, group, need, destination)
    need_change: np.ndarray  # (need)
    need_dest: np.ndarray  # (need)
    join_age: np.ndarray  # (age)
    join_need: np.ndarray  # (band, need)
    join_group: np.ndarray  # (band, need, group)


@dataclass
class NeedModel:
    """The fitted model: point rates, bootstrap replicates, the joiners' trend and the stock."""

    la: str
    origin: int  # the last census year
    stock: np.ndarray  # (age, group, need) at the last census
    point: Rates
    replicates: list[Rates]
    join_coef: np.ndarray  # Poisson trend (log joiners in the origin year, slope)
    join_cov: np.ndarray
    join_dispersion: float
    strengths: dict[str, float] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    joiners_by_year: list[int] = field(default_factory=list)
    exposure: dict[str, np.ndarray] = field(default_factory=dict)

    def _interval(self, name: str, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reps = np.stack([getattr(r, name) for r in self.replicates])
        lo, hi = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
        return getattr(self.point, name), lo, hi

    def cease_interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(estimate, lower, upper) of the yearly leaving rate by (age band, group, need)."""
        return self._interval("cease", level)

    def move_interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(estimate, lower, upper) of each move probability (class, group, need, destination)."""
        return self._interval("move", level)


def _records(tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> tuple[Records, pd.DataFrame]:
    tr = transitions(tables, manifest)
    if tr.empty:
        raise ValueError("the model needs at least two consecutive census years in the store")
    tr = tr[tr["ncy"].notna()]
    j = joiner_records(tables, manifest)
    j = j[j["ncy"].notna()]
    people = pd.Index(pd.concat([tr["person_id"], j["person_id"]]).unique())
    a1 = np.clip(tr["ncy"].to_numpy(dtype=float) + 5, 0, MAX_AGE).astype(int)
    _, g, n = _state_index(tr, "ncy", "placement_group", "primary_need")
    left = (tr["outcome"] != "continuing").to_numpy()
    dest = tr["next_group"].map(GI).fillna(GI["other"]).to_numpy(dtype=int)
    nn = tr["next_need"].map(NI).fillna(NI["OTH"]).to_numpy(dtype=int)
    ja = np.clip(j["ncy"].to_numpy(dtype=float) + 4, 0, MAX_AGE).astype(int)
    _, jg, jn = _state_index(j, "ncy", "placement_group", "primary_need")
    rec = Records(person=people.get_indexer(tr["person_id"]), a1=a1, g=g, n=n, left=left,
                  dest=np.where(left, -1, dest), next_need=np.where(left, -1, nn),
                  j_person=people.get_indexer(j["person_id"]), j_age=ja, j_group=jg, j_need=jn,
                  n_people=len(people))  # fmt: skip
    return rec, j


def _count(shape: tuple[int, ...], idx: tuple[np.ndarray, ...], w: np.ndarray) -> np.ndarray:
    flat = np.ravel_multi_index(idx, shape)
    return np.bincount(flat, weights=w, minlength=int(np.prod(shape))).reshape(shape)


def _rates(rec: Records, w: np.ndarray, jw: np.ndarray, prior: dict[str, Any]) -> Rates:
    """Rates from weighted records (weights 1: the point estimate; Poisson: a replicate)."""
    est = rec.a1 < MAX_AGE  # leaving at 25 is certain, not estimated
    b = BAND[rec.a1]
    x = _count((N_BANDS, N_GROUPS, N_NEEDS, 2), (b[est], rec.g[est], rec.n[est], rec.left[est].astype(int)), w[est])
    x = x + prior["cease_pseudo"]
    cease = shares(ipf3(x))[..., 1]
    cont = ~rec.left
    cls = model_class(rec.a1[cont])
    g, n, d = rec.g[cont], rec.n[cont], rec.dest[cont]
    moved = d != g
    xm = _count((N_CLASSES, N_GROUPS, N_NEEDS, 2), (cls, g, n, moved.astype(int)), w[cont])
    p_move = shares(ipf3(xm))[..., 1]
    yd = _count((N_CLASSES, N_GROUPS, N_NEEDS, N_GROUPS), (cls[moved], g[moved], n[moved], d[moved]), w[cont][moved])
    not_self = ~np.eye(N_GROUPS, dtype=bool)[None, :, None, :]
    yd = yd + prior["move_pseudo"] * not_self
    dest = shares(ipf3(yd, not_self))
    move = p_move[..., None] * dest
    gi = np.arange(N_GROUPS)
    move[:, gi, :, gi] = np.moveaxis(1 - p_move, 1, 0)  # (group, class, need): fancy indexing order
    nn = rec.next_need[cont]
    changed = nn != n
    xc = np.bincount(n[changed], weights=w[cont][changed], minlength=N_NEEDS)
    mc = np.bincount(n, weights=w[cont], minlength=N_NEEDS)
    k, p0 = prior["need_change_k"], prior["need_change_p"]
    need_change = (k * p0 + xc) / (k + mc)
    need_dest = np.bincount(nn[changed], weights=w[cont][changed], minlength=N_NEEDS) + 0.5
    need_dest = need_dest / need_dest.sum()
    join_age = np.bincount(rec.j_age, weights=jw, minlength=N_AGES) + prior["join_age_pseudo"]
    join_age[MAX_AGE] = 0.0
    join_age = join_age / join_age.sum()
    jb = BAND[rec.j_age]
    jneed = _count((N_BANDS, N_NEEDS), (jb, rec.j_need), jw)
    p_need = (jneed.sum(axis=0) + 0.5) / (jneed.sum() + 0.5 * N_NEEDS)
    join_need = shares(prior["join_need_k"] * p_need[None, :] + jneed)
    jgrp = _count((1, N_BANDS, N_NEEDS, N_GROUPS), (np.zeros_like(jb), jb, rec.j_need, rec.j_group), jw)
    join_group = shares(ipf3(jgrp + prior["move_pseudo"]))[0]
    return Rates(cease=cease, move=move, need_change=need_change, need_dest=need_dest, join_age=join_age,
                 join_need=join_need, join_group=join_group)  # fmt: skip


def fit(tables: dict[str, pd.DataFrame], manifest: dict[str, Any], *, store: Any | None = None,
        settings: dict[str, float] | None = None, national: bool = True, seed: int = 0) -> NeedModel:  # fmt: skip
    """Estimate the model from a SEN2 store's tables (needs at least two consecutive returns).

    ``national=False`` pools leaving rates toward the council's own age-band rates instead of
    England's (used when the store has no published aggregates)."""
    from sendcast.personlevel.report import pooling_settings

    cfg = settings or pooling_settings()
    rec, _ = _records(tables, manifest)
    dates = census_dates(manifest)
    origin = max(dates)
    ones, jones = np.ones(len(rec.a1)), np.ones(len(rec.j_age))
    # pseudo-plans pulling each (band, group) leaving rate toward England's, spread like the council's needs
    est = rec.a1 < MAX_AGE
    b = BAND[rec.a1]
    xb = _count((N_BANDS, 2), (b[est], rec.left[est].astype(int)), ones[est])
    nat_rate, nat_k = national_ceasing(store) if national else (None, None)
    if nat_rate is None or nat_k is None:
        nat_rate = (xb[:, 1] + 0.5) / (xb.sum(axis=1) + 1)
        xbg = _count((N_BANDS, N_GROUPS, 2), (b[est], rec.g[est], rec.left[est].astype(int)), ones[est])
        nat_k = eb_beta_strength(xbg[..., 1], xbg.sum(axis=-1), np.repeat(nat_rate[:, None], N_GROUPS, axis=1))
    need_mix = np.bincount(rec.n, minlength=N_NEEDS) + 0.5
    need_mix = need_mix / need_mix.sum()
    pseudo = np.zeros((N_BANDS, N_GROUPS, N_NEEDS, 2))
    pseudo[..., 1] = nat_k * nat_rate[:, None, None] * need_mix[None, None, :]
    pseudo[..., 0] = nat_k * (1 - nat_rate[:, None, None]) * need_mix[None, None, :]
    cont = ~rec.left
    changed = rec.next_need[cont] != rec.n[cont]
    xc = np.bincount(rec.n[cont][changed], minlength=N_NEEDS)
    mc = np.bincount(rec.n[cont], minlength=N_NEEDS)
    p_change = (xc.sum() + 0.5) / (mc.sum() + 1)
    jb = BAND[rec.j_age]
    jneed = _count((N_BANDS, N_NEEDS), (jb, rec.j_need), jones)
    p_need = (jneed.sum(axis=0) + 0.5) / (jneed.sum() + 0.5 * N_NEEDS)
    prior = {
        "cease_pseudo": pseudo,
        # one pseudo-plan per (class, group), spread over needs and destinations
        "move_pseudo": cfg["move_prior_pseudocount"] / (N_NEEDS * (N_GROUPS - 1)),
        "need_change_p": p_change, "need_change_k": eb_beta_strength(xc, mc, np.full(N_NEEDS, p_change)),
        "join_age_pseudo": cfg["join_age_pseudocount"],
        "join_need_k": eb_dirichlet_strength(jneed, np.tile(p_need, (N_BANDS, 1))),
    }  # fmt: skip
    point = _rates(rec, ones, jones, prior)
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(int(cfg["bootstrap_replicates"])):
        pw = rng.poisson(1.0, rec.n_people).astype(float)
        reps.append(_rates(rec, pw[rec.person], pw[rec.j_person], prior))
    years = np.array(sorted(y for y in dates if y - 1 in dates))
    jr = joiner_records(tables, manifest)
    counts = np.array([int((jr["census_year"] == y).sum()) for y in years], dtype=float)
    coef, cov, disp = _poisson_trend(years, counts, origin, cfg["joiner_growth_prior_sd"])
    last = tables["caseload"]
    last = last[(last["census_year"] == origin) & last["ncy"].notna()].drop_duplicates("person_id")
    _, sg, sn = _state_index(last, "ncy", "placement_group", "primary_need")
    sa = np.clip(last["ncy"].to_numpy(dtype=float) + 4, 0, MAX_AGE).astype(int)
    stock = _count((N_AGES, N_GROUPS, N_NEEDS), (sa, sg, sn), np.ones(len(sa)))
    exposure = {"cease": _count((N_BANDS, N_GROUPS, N_NEEDS), (b[est], rec.g[est], rec.n[est]), ones[est]),
                "move": _count((N_CLASSES, N_GROUPS, N_NEEDS), (model_class(rec.a1[cont]), rec.g[cont],
                                                                rec.n[cont]), ones[cont])}  # fmt: skip
    return NeedModel(
        la=str(manifest["lea"]), origin=origin, stock=stock, point=point, replicates=reps, join_coef=coef,
        join_cov=cov, join_dispersion=disp,
        strengths={"cease_national_pseudo_plans": float(nat_k), "need_change": float(prior["need_change_k"]),
                   "join_need": float(prior["join_need_k"])},
        years=[int(v) for v in years], joiners_by_year=[int(v) for v in counts], exposure=exposure,
    )  # fmt: skip


# --------------------------------------------------------------------------- simulate


def _stack(model: NeedModel, draws: int) -> dict[str, np.ndarray]:
    """Each draw's rates (one bootstrap replicate per draw, cycling), stacked on a first axis."""
    reps = model.replicates or [model.point]
    pick = [reps[d % len(reps)] for d in range(draws)]
    return {name: np.stack([getattr(r, name) for r in pick]) for name in Rates.__dataclass_fields__}


@dataclass
class Multipliers:
    """What scenario levers (:mod:`sendcast.personlevel.levers`) do to the rates, year by year:
    row ``h - 1`` is the step from January ``origin + h - 1`` to January ``origin + h``.

    ``join`` (H, age, need) multiplies the expected joiners of each age (at 31 August) and need;
    ``cease`` (H, age) the leaving probability of plans reaching each age; ``move`` (H, class,
    group, need, destination) each move probability (staying takes up the difference)."""

    join: np.ndarray
    cease: np.ndarray
    move: np.ndarray

    @classmethod
    def ones(cls, horizon: int) -> Multipliers:
        return cls(join=np.ones((horizon, N_AGES, N_NEEDS)), cease=np.ones((horizon, N_AGES)),
                   move=np.ones((horizon, N_CLASSES, N_GROUPS, N_NEEDS, N_GROUPS)))  # fmt: skip

    def step(self, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = min(h, self.join.shape[0]) - 1
        return self.join[i], self.cease[i], self.move[i]


def _step_rates(r: dict[str, np.ndarray], join_m: np.ndarray, cease_m: np.ndarray, move_m: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One year's (leaving by age reached, move by age, joiners' cell shares, joiners' scale)
    for every draw's rates ``r``, with the levers' multipliers applied."""
    D, A = r["cease"].shape[0], N_AGES
    cease_age = np.clip(r["cease"][:, BAND] * cease_m[None, :, None, None], 0.0, 1.0)  # (D, age reached, g, n)
    cease_age[:, MAX_AGE] = 1.0
    move = r["move"] * move_m[None]
    gi = np.arange(N_GROUPS)
    move[:, :, gi, :, gi] = 0.0  # staying takes what the levers add to or free from moving
    move[:, :, gi, :, gi] = np.clip(1 - move.sum(axis=-1), 0, None).transpose(2, 0, 1, 3)
    move_age = move[:, model_class(np.arange(A))].copy()  # (D, age, g, n, g')
    young = np.arange(A) < 16
    move_age[:, young, :, :, GI["other"]] += move_age[:, young, :, :, GI["post16_fe"]]
    move_age[:, young, :, :, GI["post16_fe"]] = 0.0
    move_age = np.clip(move_age, 0, None)
    move_age /= move_age.sum(axis=-1, keepdims=True)
    j_group = r["join_group"][:, BAND].copy()  # (D, age, n, g)
    j_group[:, young, :, GI["other"]] += j_group[:, young, :, GI["post16_fe"]]
    j_group[:, young, :, GI["post16_fe"]] = 0.0
    join_p = r["join_age"][:, :, None, None] * r["join_need"][:, BAND][:, :, :, None] * j_group  # (D, age, n, g)
    base_total = join_p.sum(axis=(1, 2, 3))
    join_p = join_p * join_m[None, :, :, None]
    join_scale = join_p.sum(axis=(1, 2, 3)) / base_total  # a lever on some joiners changes the total
    join_p = np.moveaxis(join_p, 3, 2).reshape(D, -1)  # (D, age*g*n)
    join_p /= np.maximum(join_p.sum(axis=1, keepdims=True), 1e-300)
    return cease_age, move_age, join_p, join_scale


def forecast(model: NeedModel, *, horizon: int = 5, draws: int = 1000, seed: int = 1,
             multipliers: Multipliers | None = None) -> pd.DataFrame:  # fmt: skip
    """Simulated plans at each January ``origin+1 .. origin+horizon``, long format: draw, year,
    placement_group, primary_need, plans (exact counts: protect before publishing); see
    :func:`simulate_arrays` for ``multipliers`` and the seed."""
    by_need, _ = simulate_arrays(model, horizon=horizon, draws=draws, seed=seed, multipliers=multipliers)
    return draws_frame(model, by_need)


def draws_frame(model: NeedModel, by_need: np.ndarray) -> pd.DataFrame:
    """(D, H, group, need) simulated plans -> the long table :func:`forecast` returns."""
    D, H = by_need.shape[:2]
    d_i, h_i, g_i, n_i = np.meshgrid(np.arange(D), np.arange(H), np.arange(N_GROUPS), np.arange(N_NEEDS),
                                     indexing="ij")  # fmt: skip
    out = pd.DataFrame({"draw": d_i.ravel(), "year": model.origin + 1 + h_i.ravel(),
                        "placement_group": np.asarray(GROUPS)[g_i.ravel()],
                        "primary_need": np.asarray(NEEDS)[n_i.ravel()], "plans": by_need.ravel()})  # fmt: skip
    return out.sort_values(["year", "draw"], kind="stable").reset_index(drop=True)


def simulate_arrays(model: NeedModel, *, horizon: int = 5, draws: int = 1000, seed: int = 1,
                    multipliers: Multipliers | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Simulated plans at each January ``origin+1 .. origin+horizon``: (D, H, group, need) and
    (D, H, age at 31 August, group), exact counts (protect before publishing).

    ``multipliers``: a scenario's levers (:func:`sendcast.personlevel.levers.multipliers`).
    On the same seed a scenario and the baseline give each draw the same bootstrap replicate of
    the rates and the same joiners' trend, so their difference carries little of the estimation
    uncertainty; the yearly flows are drawn afresh once a lever has changed a probability."""
    rng = np.random.default_rng(seed)
    D, A = draws, N_AGES
    r = _stack(model, D)
    q = r["need_change"]  # (D, n)
    dest = np.repeat(r["need_dest"][:, None, :], N_NEEDS, axis=1)  # (D, n, n')
    idx = np.arange(N_NEEDS)
    dest[:, idx, idx] = 0.0
    dest /= np.maximum(dest.sum(axis=-1, keepdims=True), 1e-12)
    coef = rng.multivariate_normal(model.join_coef, model.join_cov, size=D)  # (D, 2)
    mult = multipliers or Multipliers.ones(1)
    rates: tuple[np.ndarray, ...] = ()
    last: tuple[np.ndarray, ...] | None = None

    stock = np.broadcast_to(model.stock, (D, A, N_GROUPS, N_NEEDS)).astype(np.int64).copy()
    by_need = np.zeros((D, horizon, N_GROUPS, N_NEEDS), dtype=np.int64)
    by_age = np.zeros((D, horizon, A, N_GROUPS), dtype=np.int64)
    for h in range(1, horizon + 1):
        m = mult.step(h)
        if last is None or any(not np.array_equal(a, b) for a, b in zip(m, last, strict=True)):
            rates, last = _step_rates(r, *m), m  # recomputed only when a lever's strength changes
        cease_age, move_age, join_p, join_scale = rates
        aged = np.zeros_like(stock)
        aged[:, 1:] = stock[:, :-1]  # age rises by one; those reaching 25 leave below
        ceased = rng.binomial(aged, cease_age)
        moved = rng.multinomial(aged - ceased, move_age)  # (D, age, g, n, g')
        new = np.moveaxis(moved.sum(axis=2), 3, 2)  # (D, age, g', n)
        change = rng.binomial(new, np.broadcast_to(q[:, None, None, :], new.shape))
        to = rng.multinomial(change, np.broadcast_to(dest[:, None, None, :, :], (*new.shape, N_NEEDS)))
        new = new - change + to.sum(axis=3)
        lam = np.exp(coef[:, 0] + coef[:, 1] * h) * join_scale
        if model.join_dispersion > 1.0:  # quasi-Poisson: gamma-Poisson with the same mean and variance
            shape = np.maximum(lam, 1e-12) / (model.join_dispersion - 1)
            lam = np.where(lam > 0, rng.gamma(shape, np.maximum(lam, 1e-12) / shape), 0.0)
        nj = rng.poisson(lam)
        joins = np.stack([rng.multinomial(nj[d], join_p[d]) for d in range(D)]).reshape(D, A, N_GROUPS, N_NEEDS)
        stock = new + joins
        by_need[:, h - 1] = stock.sum(axis=1)
        by_age[:, h - 1] = stock.sum(axis=3)
    return by_need, by_age


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
