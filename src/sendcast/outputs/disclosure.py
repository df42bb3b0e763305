"""One disclosure rule for every published output (tables, files, charts, web pages, API).

The rule (as in DfE's statistical releases): a count of children between 1 and 9 could identify
a child, so it is never shown; it is replaced by ``<10`` in text and by a missing value with a
reason in numeric files. Zero is shown (it identifies nobody). Modelled counts are treated the
same way: a forecast median of 4 plans is shown as ``<10``.

Primary suppression alone is not enough: when cells add up to a total that is shown, a single
suppressed cell is the total minus the others. :func:`suppression_mask` therefore applies
*secondary* suppression: in every additive group with exactly one suppressed cell, the smallest
other cell (preferring one of 10 or more, so the pair's sum is not itself small) is suppressed
too, repeated until no group can be solved by subtraction. Groups are described by
:class:`Additive` relations (e.g. placements within a council and year add up to the total; the
councils of England add up to England).

Text outputs show a primary-suppressed cell as ``<10`` and a secondary-suppressed one as ``c``
(it is usually 10 or more, so ``<10`` would be false); :data:`LEGEND` explains both.

Callers: build the tidy table, call :func:`protect` (text outputs: csv, json, table, html, xlsx)
or :func:`protect_numeric` (parquet and charts) at the output boundary, never earlier (the
model and the money need the real numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SMALL_MAX = 9  # counts 1..9 are suppressed
SUPPRESSED = "<10"
# a cell hidden by secondary suppression is usually 10 or more: showing it as "<10" would
# state something false, so it has its own marker (DfE's "c", confidential)
SECONDARY = "c"
REASON = "fewer than 10 (suppressed to protect children's identities)"
SECONDARY_REASON = "suppressed so that a count under 10 cannot be recovered by subtraction"
LEGEND = f"{SUPPRESSED}: a count of 1 to 9, hidden; {SECONDARY}: hidden so that one cannot be worked out by subtraction"


def is_small(values: pd.Series | np.ndarray | float) -> np.ndarray:
    """True where a count is positive and would round to at most :data:`SMALL_MAX`.

    Modelled counts are fractional: 9.4 plans rounds to 9 and is small; 9.5 rounds to 10."""
    v = np.asarray(pd.to_numeric(pd.Series(np.atleast_1d(values)), errors="coerce"), dtype=float)
    with np.errstate(invalid="ignore"):
        return (v > 0) & (v < SMALL_MAX + 0.5)


def format_count(value: float | None, *, suppressed: bool = False, decimals: int = 0) -> str:
    """A count as text for people: ``<10`` when small or suppressed, ``-`` when missing."""
    if suppressed:
        return SUPPRESSED
    if value is None or pd.isna(value):
        return "-"
    if bool(is_small(float(value))[0]):
        return SUPPRESSED
    return f"{float(value):,.{decimals}f}"


@dataclass(frozen=True)
class Additive:
    """Rows whose ``member_col`` takes one of ``members`` add up, within each group of
    ``group_cols``, to the row whose ``member_col`` is ``total`` (when the table holds it).

    Example: ``Additive("measure", ("mainstream", "state_special", ...), "ehcp_total",
    ("la_code", "year"))``. With ``total=None`` the total is shown elsewhere (e.g. a published
    figure), so the members are still protected against subtraction from it."""

    member_col: str
    members: tuple[str, ...]
    total: str | None
    group_cols: tuple[str, ...]


def _relation_arrays(df: pd.DataFrame, rel: Additive) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Positions of the rows in ``rel``, their group number and whether each is a member (not
    the total); None when no row is in the relation."""
    in_rel = df[rel.member_col].isin(rel.members + ((rel.total,) if rel.total else ())).to_numpy()
    if not in_rel.any():
        return None
    pos = np.flatnonzero(in_rel)
    sub = df.iloc[pos]
    if rel.group_cols:
        groups = sub.groupby(list(rel.group_cols), sort=False, dropna=False).ngroup().to_numpy()
    else:
        groups = np.zeros(len(pos), dtype=np.int64)
    return pos, groups, sub[rel.member_col].isin(rel.members).to_numpy()


def _secondary(values: np.ndarray, mask: np.ndarray, arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
    """One pass of secondary suppression for one relation (``mask`` is updated in place);
    returns whether anything changed.

    In every group whose total is shown (or absent) and where exactly one member is unknown and
    that member is suppressed, the smallest shown member (preferring one of 10 or more) is
    suppressed too."""
    pos, groups, is_member = arrays
    n = int(groups.max()) + 1
    hid = mask[pos]
    na = np.isnan(values[pos])
    is_total = ~is_member
    # if the total is suppressed, the members cannot be recovered from it, but they are all
    # small anyway (each is at most the total)
    n_totals = np.bincount(groups[is_total], minlength=n)
    n_totals_hidden = np.bincount(groups[is_total & hid], minlength=n)
    total_hidden = (n_totals > 0) & (n_totals_hidden == n_totals)
    hidden = np.bincount(groups[is_member & hid], minlength=n)
    # a missing member (not published) is as unknown as a suppressed one
    unknown = np.bincount(groups[is_member & (hid | na)], minlength=n)
    exposed = ~total_hidden & (hidden >= 1) & (unknown == 1)
    cand = is_member & ~hid & ~na & exposed[groups]
    if not cand.any():
        return False
    c_pos, c_grp, c_val = pos[cand], groups[cand], values[pos[cand]]
    not_big = c_val < SMALL_MAX + 0.5
    order = np.lexsort((c_pos, c_val, not_big, c_grp))  # by group, big first, smallest, first row
    first = np.ones(len(order), dtype=bool)
    first[1:] = c_grp[order][1:] != c_grp[order][:-1]
    mask[c_pos[order][first]] = True
    return True


def suppression_mask(
    df: pd.DataFrame,
    value_col: str,
    relations: Sequence[Additive] = (),
    *,
    max_passes: int | None = None,
    exact: bool = False,
) -> pd.Series:
    """Boolean Series (index of ``df``): True where ``df[value_col]`` must not be shown.

    Primary: counts of 1-9. Secondary: see the module docstring. Passes repeat until no
    relation changes (a cell hidden for one relation may expose another); every pass that
    changes something hides one more cell, so this ends. With ``exact``, a settled mask is also
    checked against every combination of relations at once (:func:`determined`), and one more
    cell is hidden beside each cell pinned down, until none is. ``max_passes`` caps the passes;
    a table left unsettled by the cap raises RuntimeError."""
    values = pd.to_numeric(df[value_col], errors="coerce").astype(float).to_numpy()
    mask = is_small(values)
    arrays = [a for a in (_relation_arrays(df, rel) for rel in relations) if a is not None]
    passes = 0
    changed = True
    while changed:
        if max_passes is not None and passes >= max_passes:
            raise RuntimeError(f"secondary suppression of {value_col} did not settle in {max_passes} passes")
        changed = False
        for arr in arrays:
            changed |= _secondary(values, mask, arr)
        if not changed and exact:
            # one relation at a time is safe; a combination of them may still pin a cell down
            changed = _break_determined(df, values, mask, relations, arrays)
        passes += 1
    return pd.Series(mask, index=df.index)


def _break_determined(
    df: pd.DataFrame,
    values: np.ndarray,
    mask: np.ndarray,
    relations: Sequence[Additive],
    arrays: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> bool:
    """Hide one more cell beside the first cell that a combination of relations pins down (see
    :func:`determined`): the smallest shown member (preferring one of 10 or more) of a group
    holding it, or failing that the smallest shown total of such a group. One at a time, since
    one more hidden cell may free several. Returns whether anything changed."""
    if not mask.any() or not relations:
        return False
    frame = df[_columns(relations)].assign(_value=values)
    pinned = determined(frame, "_value", pd.Series(mask, index=df.index), relations)
    if not pinned:
        return False
    pos_of = {label: i for i, label in enumerate(df.index)}
    for label in pinned:
        p = pos_of[label]
        best: tuple[bool, bool, float, int] | None = None
        for pos, groups, is_member in arrays:
            at = np.flatnonzero(pos == p)
            if not len(at):
                continue
            in_g = groups == groups[at[0]]
            # a shown member of a group holding the pinned cell; failing that, the group's total
            for q, member in zip(pos[in_g], is_member[in_g], strict=True):
                v = values[q]
                if mask[q] or np.isnan(v):
                    continue
                key = (not bool(member), bool(v < SMALL_MAX + 0.5), float(v), int(q))
                best = key if best is None or key < best else best
        if best is not None:
            mask[best[3]] = True
            return True
    return False


def _columns(relations: Sequence[Additive]) -> list[str]:
    cols: list[str] = []
    for rel in relations:
        for c in (rel.member_col, *rel.group_cols):
            if c not in cols:
                cols.append(c)
    return cols


def _masks(
    df: pd.DataFrame, value_cols: Iterable[str], relations: Sequence[Additive], exact: bool | Iterable[str] = False
) -> dict[str, pd.Series]:
    exact_cols = set(value_cols if exact is True else () if exact is False else exact)
    return {c: suppression_mask(df, c, relations, exact=c in exact_cols) for c in value_cols if c in df.columns}


def protect(
    df: pd.DataFrame,
    value_cols: Iterable[str],
    relations: Sequence[Additive] = (),
    *,
    decimals: int | None = None,
    exact: bool | Iterable[str] = False,
) -> pd.DataFrame:
    """A copy of ``df`` for text outputs (csv, json, tables, html, xlsx): each value column
    becomes object dtype holding numbers, with ``<10`` where a count of 1-9 is hidden and ``c``
    where a larger one is hidden by secondary suppression. With ``decimals`` the shown numbers
    are rounded to that many places. ``exact`` (True, or the columns): also hide cells until no
    combination of relations pins one down (:func:`determined`; slower)."""
    value_cols = list(value_cols)
    out = df.copy()
    for col, mask in _masks(df, value_cols, relations, exact).items():
        raw = pd.to_numeric(out[col], errors="coerce")
        primary = is_small(raw.to_numpy())
        vals = raw.round(decimals) if decimals is not None else raw
        shown = pd.Series([None if pd.isna(v) else v for v in vals], index=out.index, dtype=object)
        hidden = mask.to_numpy()
        shown[hidden & ~primary] = SECONDARY
        shown[hidden & primary] = SUPPRESSED
        out[col] = shown
    return out


def protect_numeric(
    df: pd.DataFrame,
    value_cols: Iterable[str],
    relations: Sequence[Additive] = (),
    *,
    exact: bool | Iterable[str] = False,
) -> pd.DataFrame:
    """A copy of ``df`` for numeric outputs (parquet, charts): suppressed values become NaN and a
    ``suppressed`` column lists, per row, the columns hidden (empty when none), so a missing
    value always carries its reason. ``exact`` as for :func:`protect`."""
    out = df.copy()
    value_cols = list(value_cols)
    flags = pd.Series("", index=df.index, dtype=object)
    for col, mask in _masks(df, value_cols, relations, exact).items():
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).mask(mask)
        flags = flags.where(~mask, flags.where(flags == "", flags + ";") + col)
    out["suppressed"] = flags
    return out


def plan_relations(
    group_cols: tuple[str, ...],
    *,
    member_col: str = "measure",
    total: str = "ehcp_total",
    ages: bool = True,
    special_school: bool = True,
) -> list[Additive]:
    """The additive relations of a table of EHC plans by placement and age (forecast, profile,
    budget): the seven placement groups add up to ``total``; all special schools
    (``special_school``) are state plus independent special schools, so the six groups with
    ``special_school`` in place of its two parts add up to ``total`` too; the age bands add up
    to ``total`` (when ``ages``). ``group_cols`` name one council-year (e.g. ``("la_code",
    "year")``). Leave out (``ages=False``, ``special_school=False``) what the table does not
    hold: the rows of a group are taken to be all of its members."""
    from sendcast.model.structure import AGE_BANDS, GROUPS

    special = ("state_special", "independent_special")
    with_special = tuple("special_school" if g == special[0] else g for g in GROUPS if g != special[1])
    rels = [Additive(member_col, tuple(GROUPS), total, group_cols)]
    if special_school:
        rels += [
            Additive(member_col, special, "special_school", group_cols),
            Additive(member_col, with_special, total, group_cols),
        ]
    if ages:
        rels.append(Additive(member_col, tuple(AGE_BANDS), total, group_cols))
    return rels


def england_relation(
    council_codes: Iterable[str], group_cols: tuple[str, ...], *, code_col: str = "la_code", england: str = "E92000001"
) -> Additive:
    """Councils add up to England: shown beside all its councils, England minus all but one
    council would give the last one away."""
    return Additive(code_col, tuple(sorted(set(council_codes) - {england})), england, group_cols)


def recoverable(df: pd.DataFrame, value_col: str, mask: pd.Series, relations: Sequence[Additive]) -> list[object]:
    """Index labels of suppressed cells that can be recovered by subtracting the shown members
    of a group from its shown total: the check a test (or an auditor) runs. Empty when safe."""
    values = pd.to_numeric(df[value_col], errors="coerce").astype(float)
    found: list[object] = []
    for rel in relations:
        if rel.total is None:
            continue
        in_rel = df[rel.member_col].isin(rel.members + (rel.total,))
        sub = df.loc[in_rel]
        keys = [sub[c] for c in rel.group_cols] if rel.group_cols else [pd.Series(0, index=sub.index)]
        for _, idx in sub.groupby(keys, sort=False, dropna=False).groups.items():
            rows = pd.Index(idx)
            is_total = (sub.loc[rows, rel.member_col] == rel.total).to_numpy()
            totals, members = rows[is_total], rows[~is_total]
            if len(totals) != 1 or bool(mask.loc[totals[0]]):
                continue
            hidden = members[mask.loc[members].to_numpy() | values.loc[members].isna().to_numpy()]
            if len(hidden) == 1 and bool(mask.loc[hidden[0]]):
                found.append(hidden[0])
    return found


def determined(df: pd.DataFrame, value_col: str, mask: pd.Series, relations: Sequence[Additive]) -> list[object]:
    """Index labels of suppressed cells that any combination of the relations pins down: every
    subtraction at once, not one relation at a time as :func:`recoverable` does.

    Each group of each relation whose total is shown gives one linear equation (members minus
    total = 0) in the unknown cells (suppressed, or missing members); a suppressed cell is
    determined exactly when its unit vector lies in the row space of that system, i.e. when
    every solution of the homogeneous system is zero there (its row of the null space is 0)."""
    from scipy.linalg import null_space

    values = pd.to_numeric(df[value_col], errors="coerce").astype(float).to_numpy()
    hidden = mask.to_numpy(dtype=bool)
    unknown = hidden | np.isnan(values)
    n_unknown = int(unknown.sum())
    if not hidden.any() or n_unknown == 0:
        return []
    col_of = np.full(len(df), -1)
    col_of[unknown] = np.arange(n_unknown)
    blocks: list[np.ndarray] = []
    for rel in relations:
        arrays = _relation_arrays(df, rel)
        if arrays is None or rel.total is None:
            continue
        pos, groups, is_member = arrays
        n = int(groups.max()) + 1
        n_totals = np.bincount(groups[~is_member], minlength=n)
        known_totals = np.bincount(groups[~is_member & ~unknown[pos]], minlength=n)
        usable = (n_totals == 1) & (known_totals == 1)
        entry = is_member & unknown[pos] & usable[groups]
        if not entry.any():
            continue
        rows, row_of = np.unique(groups[entry], return_inverse=True)
        block = np.zeros((len(rows), n_unknown))
        block[row_of, col_of[pos[entry]]] = 1.0
        blocks.append(block)
    if not blocks:
        return []
    ns = null_space(np.vstack(blocks))
    fixed = np.abs(ns).max(axis=1) < 1e-9 if ns.size else np.ones(n_unknown, dtype=bool)
    return [df.index[int(p)] for p in np.flatnonzero(unknown) if fixed[col_of[p]] and hidden[p]]
