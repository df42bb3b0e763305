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
REASON = "fewer than 10 (suppressed to protect children's identities)"
SECONDARY_REASON = "suppressed so that a count under 10 cannot be recovered by subtraction"


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


def _secondary(values: pd.Series, mask: pd.Series, df: pd.DataFrame, rel: Additive) -> bool:
    """One pass of secondary suppression for one relation; returns whether anything changed."""
    changed = False
    in_rel = df[rel.member_col].isin(rel.members + ((rel.total,) if rel.total else ()))
    if not in_rel.any():
        return False
    sub = df.loc[in_rel, list(rel.group_cols) + [rel.member_col]]
    keys = [sub[c] for c in rel.group_cols] if rel.group_cols else [pd.Series(0, index=sub.index)]
    for _, idx in sub.groupby(keys, sort=False, dropna=False).groups.items():
        rows = pd.Index(idx)
        members = rows[sub.loc[rows, rel.member_col].isin(rel.members).to_numpy()]
        totals = rows.difference(members)
        # if the total is suppressed, the members cannot be recovered from it, but they are all
        # small anyway (each is at most the total)
        if len(totals) and bool(mask.loc[totals].all()):
            continue
        shown_vals = values.loc[members]
        hidden = mask.loc[members]
        # a missing member (not published) is as unknown as a suppressed one
        unknown = hidden | shown_vals.isna()
        if int(hidden.sum()) == 0 or int(unknown.sum()) >= 2:
            continue
        candidates = shown_vals[~unknown]
        if candidates.empty:
            continue
        big = candidates[candidates >= SMALL_MAX + 0.5]
        pick = (big if not big.empty else candidates).sort_values(kind="stable").index[0]
        mask.loc[pick] = True
        changed = True
    return changed


def suppression_mask(
    df: pd.DataFrame, value_col: str, relations: Sequence[Additive] = (), *, max_passes: int = 20
) -> pd.Series:
    """Boolean Series (index of ``df``): True where ``df[value_col]`` must not be shown.

    Primary: counts of 1-9. Secondary: see the module docstring. Passes repeat until no
    relation changes (a cell hidden for one relation may expose another)."""
    values = pd.to_numeric(df[value_col], errors="coerce").astype(float)
    mask = pd.Series(is_small(values.to_numpy()), index=df.index)
    for _ in range(max_passes):
        changed = False
        for rel in relations:
            changed |= _secondary(values, mask, df, rel)
        if not changed:
            break
    return mask


def _masks(df: pd.DataFrame, value_cols: Iterable[str], relations: Sequence[Additive]) -> dict[str, pd.Series]:
    return {c: suppression_mask(df, c, relations) for c in value_cols if c in df.columns}


def protect(
    df: pd.DataFrame,
    value_cols: Iterable[str],
    relations: Sequence[Additive] = (),
    *,
    decimals: int | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` for text outputs (csv, json, tables, html, xlsx): each value column
    becomes object dtype holding numbers, with ``<10`` where suppressed. With ``decimals`` the
    shown numbers are rounded to that many places."""
    out = df.copy()
    for col, mask in _masks(df, value_cols, relations).items():
        vals = pd.to_numeric(out[col], errors="coerce")
        if decimals is not None:
            vals = vals.round(decimals)
        shown = pd.Series([None if pd.isna(v) else v for v in vals], index=out.index, dtype=object)
        shown[mask.to_numpy()] = SUPPRESSED
        out[col] = shown
    return out


def protect_numeric(
    df: pd.DataFrame, value_cols: Iterable[str], relations: Sequence[Additive] = ()
) -> pd.DataFrame:
    """A copy of ``df`` for numeric outputs (parquet, charts): suppressed values become NaN and a
    ``suppressed`` column lists, per row, the columns hidden (empty when none), so a missing
    value always carries its reason."""
    out = df.copy()
    flags = pd.Series("", index=df.index, dtype=object)
    for col, mask in _masks(df, value_cols, relations).items():
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).mask(mask)
        flags = flags.where(~mask, flags.where(flags == "", flags + ";") + col)
    out["suppressed"] = flags
    return out


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
