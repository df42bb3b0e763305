"""Councils, codes, boundary changes and statistical neighbours: one council, one key.

The key of a council is the ONS code DfE uses for it now (``la_lookup.la_code`` with
``is_current``), e.g. ``E10000020`` Norfolk, ``E10000023`` North Yorkshire (DfE kept the
county code after the 2023 unitary; ONS population files use ``E06000065``).

Boundary changes are sourced data in ``geography_changes.yaml``. :func:`apportionment_shares`
turns them into a table of ``published code -> current council, share`` and :func:`to_current`
rebuilds any long table on the 153 current councils, flagging each row's ``continuity``:

- ``published``: the current council's own code, as published;
- ``recoded``: published under an earlier (or alias) code of the same area;
- ``apportioned``: built from predecessors (whole merges and/or population shares of splits).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

CHANGES_FILE = Path(__file__).with_name("geography_changes.yaml")
ENGLAND = "E92000001"
SHARE_AGES = range(0, 26)

CHANGE_COLUMNS = [
    "predecessor_code",
    "successor_code",
    "current_code",
    "first_year_of_successor",
    "kind",
    "districts",
    "note",
    "source",
]
SHARE_COLUMNS = [
    "predecessor_code",
    "successor_code",
    "kind",
    "share",
    "basis",
    "first_year_of_successor",
]
COUNCIL_COLUMNS = [
    "la_code",
    "old_la_code",
    "la_name",
    "region_code",
    "region_name",
    "ons_alias_code",
    "la_type",
    "predecessors",
]
# Columns that describe a published row rather than identify it: not used to match
# predecessor rows to each other in :func:`to_current`.
DESCRIPTIVE_COLUMNS = {
    "la_name",
    "old_la_code",
    "geographic_level",
    "missing_reason",
    "source",
    "release",
    "file",
    "line",
    "continuity",
}


class UnknownCouncilError(KeyError):
    """No council (or more than one) matches a name or code; the message lists the closest."""

    def __init__(self, query: str, suggestions: list[str], message: str | None = None) -> None:
        self.query = query
        self.suggestions = suggestions
        if message is None:
            closest = ", ".join(suggestions) if suggestions else "none (`sendcast las` lists every council)"
            message = f"no council matches {query!r}; closest: {closest}"
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class CouncilMatchWarning(UserWarning):
    """A council name was read as a different spelling ("using Norfolk for 'Norfok'"): the CLI
    prints it as a note, so a user sees which council their figures are for."""


@lru_cache(maxsize=4)
def _read_changes(path: Path) -> tuple[dict[str, Any], ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    changes = data.get("changes") if isinstance(data, dict) else None
    if not changes:
        raise ValueError(f"{path}: no 'changes' list")
    for i, ch in enumerate(changes, 1):
        for key in (
            "predecessor_code",
            "successor_code",
            "first_year_of_successor",
            "kind",
            "source",
        ):
            if not ch.get(key):
                raise ValueError(f"{path}: change {i} has no {key!r}")
        if ch["kind"] not in ("merge", "split", "recode"):
            raise ValueError(f"{path}: change {i} kind {ch['kind']!r} is not merge|split|recode")
        if ch["kind"] == "split" and not ch.get("districts"):
            raise ValueError(f"{path}: split {ch['predecessor_code']}->{ch['successor_code']} lists no districts")
    return tuple(changes)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of ``df`` as plain dicts (column -> value)."""
    return [{str(k): v for k, v in row.items()} for row in df.to_dict("records")]


def boundary_changes(path: Path | None = None) -> pd.DataFrame:
    """Return the boundary changes in ``geography_changes.yaml``, one row per predecessor-successor.

    Columns: predecessor_code, successor_code (legal successor), current_code (the key the
    successor has in sendcast: DfE's code, which differs after some recodes),
    first_year_of_successor
    (calendar year of the 1 April change), kind ('merge' | 'split' | 'recode'), districts
    (comma-separated codes, splits only), note, source.
    """
    rows = []
    for ch in _read_changes(Path(path or CHANGES_FILE)):
        rows.append(
            {
                "predecessor_code": ch["predecessor_code"],
                "successor_code": ch["successor_code"],
                "current_code": ch.get("dfe_code") or ch["successor_code"],
                "first_year_of_successor": int(ch["first_year_of_successor"]),
                "kind": ch["kind"],
                "districts": ",".join(ch.get("districts") or []),
                "note": " ".join(str(ch.get("note", "")).split()),
                "source": ch["source"],
            }
        )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def councils(la_lookup: pd.DataFrame, changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the current councils (153 with the 2025 lookup), one row each, sorted by la_code.

    Columns: la_code, old_la_code, la_name, region_code, region_name, ons_alias_code, la_type,
    predecessors (text such as ``"Bournemouth E06000028 (merge 2019); ..."``, empty when none).
    """
    changes = boundary_changes() if changes is None else changes
    cur = la_lookup[la_lookup["is_current"].astype(bool)].drop_duplicates("la_code").copy()
    names = dict(zip(la_lookup["la_code"], la_lookup["la_name"], strict=True))
    pred_text: dict[str, list[str]] = {}
    for ch in records(changes):
        if ch["predecessor_code"] == ch["current_code"]:
            # DfE kept the old code: the legal successor's code is an alias, not a predecessor.
            pred_text.setdefault(ch["current_code"], []).append(
                f"ONS code {ch['successor_code']} ({ch['kind']} {ch['first_year_of_successor']})"
            )
            continue
        name = names.get(ch["predecessor_code"], "")
        pred_text.setdefault(ch["current_code"], []).append(
            f"{name + ' ' if name else ''}{ch['predecessor_code']} ({ch['kind']} {ch['first_year_of_successor']})"
        )
    cur["predecessors"] = cur["la_code"].map(lambda c: "; ".join(pred_text.get(c, [])))
    for col in COUNCIL_COLUMNS:
        if col not in cur.columns:
            cur[col] = None
    return cur[COUNCIL_COLUMNS].sort_values("la_code").reset_index(drop=True)


def _age_0_25(population_obs: pd.DataFrame) -> pd.DataFrame:
    """Population aged 0-25 by code and mid-year from tidy ``population`` observations."""
    pop = population_obs[
        (population_obs["measure"] == "population")
        & (population_obs["breakdown_topic"] == "age")
        & population_obs["breakdown"].isin([str(a) for a in SHARE_AGES])
    ]
    grouped = pop.groupby(["la_code", "year"])["value"].sum(min_count=len(SHARE_AGES))
    return grouped.reset_index()


def apportionment_shares(population_obs: pd.DataFrame, changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return how each published code maps onto a current council, with a share.

    Columns: predecessor_code (a code found in published data), successor_code (the current
    council key), kind, share, basis (how the share was computed), first_year_of_successor.

    - merge and recode: share 1;
    - split: the successor's share of the predecessor's population aged 0-25, summing the
      successor's districts in the latest mid-year where all the predecessor's districts are
      published (e.g. Christchurch district / Dorset County, mid-2017). If the districts are not
      in ``population_obs``, the successors' own populations in the first mid-year they are
      published are used instead (basis says which);
    - an alias row (share 1, kind 'recode') maps a legal successor code that DfE does not use
      (E06000060, E06000065, E06000066) to DfE's key.
    """
    changes = boundary_changes() if changes is None else changes
    pop = _age_0_25(population_obs)
    rows: list[dict[str, Any]] = []
    for ch in records(changes):
        base = {"kind": ch["kind"], "first_year_of_successor": ch["first_year_of_successor"]}
        if ch["kind"] == "recode" and ch["current_code"] == ch["predecessor_code"]:
            rows.append(
                {
                    **base,
                    "predecessor_code": ch["successor_code"],
                    "successor_code": ch["current_code"],
                    "share": 1.0,
                    "basis": f"same area: ONS code of the council DfE keys as {ch['current_code']}",
                }
            )
        elif ch["kind"] in ("recode", "merge"):
            rows.append(
                {
                    **base,
                    "predecessor_code": ch["predecessor_code"],
                    "successor_code": ch["current_code"],
                    "share": 1.0,
                    "basis": f"whole area ({ch['kind']})",
                }
            )
    splits = changes[changes["kind"] == "split"]
    for pred, grp in splits.groupby("predecessor_code", sort=False):
        parts = {str(r["current_code"]): str(r["districts"]).split(",") for r in records(grp)}
        every = [d for ds in parts.values() for d in ds]
        have = pop[pop["la_code"].isin(every) & pop["value"].notna()]
        years = have.groupby("year")["la_code"].nunique()
        full = years[years == len(set(every))].index
        first_year = int(grp["first_year_of_successor"].iloc[0])
        if len(full):
            year = int(max(full))
            sizes = {
                s: float(have[(have["year"] == year) & have["la_code"].isin(ds)]["value"].sum())
                for s, ds in parts.items()
            }
            basis = f"population 0-25 mid-{year} via districts " + "; ".join(
                f"{s}={'+'.join(ds)}" for s, ds in parts.items()
            )
        else:
            own = pop[pop["la_code"].isin(list(parts)) & pop["value"].notna()]
            yrs = own.groupby("year")["la_code"].nunique()
            both = yrs[yrs == len(parts)].index
            if not len(both):
                raise ValueError(f"no population for the districts or successors of {pred}: cannot apportion")
            year = int(min(both))
            sizes = {s: float(own[(own["year"] == year) & (own["la_code"] == s)]["value"].sum()) for s in parts}
            basis = f"population 0-25 mid-{year} of the successors (districts not published)"
        total = sum(sizes.values())
        for succ, size in sizes.items():
            rows.append(
                {
                    "predecessor_code": pred,
                    "successor_code": succ,
                    "kind": "split",
                    "share": size / total,
                    "basis": basis,
                    "first_year_of_successor": first_year,
                }
            )
    return pd.DataFrame(rows, columns=SHARE_COLUMNS)


def to_current(
    series: pd.DataFrame,
    shares: pd.DataFrame,
    *,
    value_cols: list[str] | None = None,
    code_col: str = "la_code",
    year_col: str = "year",
    keep: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return ``series`` on current councils, with a ``continuity`` column.

    ``series`` is a long table keyed by ``code_col`` + ``year_col`` (+ any other columns such as
    measure, breakdown). Rows under a current council's own code are kept as published. For
    (council, year, other keys) with no own row, the value is rebuilt from the predecessors'
    rows times their share and summed (a merge sums its predecessors). If any predecessor the
    successor needs is missing or has a missing value, the result is NaN with a
    ``missing_reason`` - never a partial sum, never 0. Columns in :data:`DESCRIPTIVE_COLUMNS`
    other than missing_reason are left empty on rebuilt rows. ``keep`` restricts the result to
    these codes (e.g. the current councils plus England).
    """
    value_cols = value_cols or ["value"]
    df = series.copy()
    if "missing_reason" not in df.columns:
        df["missing_reason"] = None
    is_pred = df[code_col].isin(shares["predecessor_code"])
    own = df[~is_pred].copy()
    own["continuity"] = "published"
    keys = [c for c in df.columns if c not in value_cols and c not in DESCRIPTIVE_COLUMNS and c != code_col]
    pred = df[is_pred].merge(
        shares[["predecessor_code", "successor_code", "kind", "share"]],
        left_on=code_col,
        right_on="predecessor_code",
    )
    out = own
    if len(pred):
        for v in value_cols:
            pred[v] = pred[v].astype(float) * pred["share"]
        pred["_missing"] = pred[value_cols].isna().any(axis=1)
        needed = shares.groupby("successor_code")["predecessor_code"].nunique()
        agg: dict[str, Any] = {
            v: (v, lambda s: s.sum(min_count=len(s)) if s.notna().all() else np.nan) for v in value_cols
        }
        agg.update(
            _n=("predecessor_code", "nunique"),
            _kinds=("kind", lambda k: ",".join(sorted(set(k)))),
            _reason=(
                "missing_reason",
                lambda r: next((x for x in r if isinstance(x, str) and x), None),
            ),
        )
        built = pred.groupby(["successor_code", *keys], dropna=False, as_index=False).agg(**agg)
        short = built["_n"] < built["successor_code"].map(needed)
        built.loc[short, value_cols] = np.nan
        built["missing_reason"] = np.where(
            short,
            "not all predecessors published",
            np.where(
                built[value_cols].isna().any(axis=1),
                "predecessor value missing: " + built["_reason"].fillna("blank"),
                None,
            ),
        )
        built["continuity"] = np.where(built["_kinds"] == "recode", "recoded", "apportioned")
        built = built.rename(columns={"successor_code": code_col}).drop(columns=["_n", "_kinds", "_reason"])
        # A current council's own published row always wins over a rebuilt one.
        have = own[[code_col, *keys]].drop_duplicates()
        built = built.merge(have, on=[code_col, *keys], how="left", indicator=True)
        built = built[built["_merge"] == "left_only"].drop(columns="_merge")
        for col in own.columns:
            if col not in built.columns:
                built[col] = None
        out = pd.concat([own, built[own.columns]], ignore_index=True)
    if keep is not None:
        out = out[out[code_col].isin(set(keep))]
    return out.sort_values([code_col, *keys]).reset_index(drop=True)


_ABBREVIATIONS = {
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "yorks": "yorkshire",
    "northants": "northamptonshire",
    "lincs": "lincolnshire",
    "notts": "nottinghamshire",
    "glos": "gloucestershire",
    "herts": "hertfordshire",
    "bucks": "buckinghamshire",
    "hants": "hampshire",
    "leics": "leicestershire",
    "lancs": "lancashire",
    "cambs": "cambridgeshire",
    "beds": "bedfordshire",
    "oxon": "oxfordshire",
    "staffs": "staffordshire",
    "wilts": "wiltshire",
    "worcs": "worcestershire",
    "st": "saint",
    "&": "and",
}
# Whole-name nicknames in common use.
_NICKNAMES = {
    "bcp": "bournemouth christchurch and poole",
    "hull": "kingston upon hull",
    "brighton": "brighton and hove",
    "b&nes": "bath and north east somerset",
    "banes": "bath and north east somerset",
}
_DROP_WORDS = {
    "council",
    "county",
    "city",
    "of",
    "the",
    "borough",
    "metropolitan",
    "district",
    "royal",
    "cc",
}


def _normalise(text: str) -> str:
    words = re.sub(r"[^a-z0-9&]+", " ", str(text).lower().replace("&", " & ")).split()
    words = [_ABBREVIATIONS.get(w, w) for w in words]
    return " ".join(w for w in words if w not in _DROP_WORDS)


def _plain(text: str) -> str:
    """Lower case, ``&`` as ``and``, punctuation dropped: "St. Helens" and "st helens" agree."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", str(text).lower().replace("&", " and ")).split())


def _announce(query: str, row: pd.Series) -> pd.Series:
    """Return ``row``, warning (:class:`CouncilMatchWarning`) when ``query`` is not simply its name."""
    name = str(row["la_name"])
    if _plain(query) != _plain(name):
        warnings.warn(f"using {name} for {query!r}", CouncilMatchWarning, stacklevel=3)
    return row


def resolve(name_or_code: str, councils: pd.DataFrame) -> pd.Series:
    """Return the row of ``councils`` matching a name, DfE 3-digit code or ONS code.

    Accepts ``"Norfolk"``, ``"norfolk"``, ``"926"``, ``"E10000020"``, ONS alias codes
    (``"E06000065"``), predecessor codes (-> the council they became, when that is one council),
    common abbreviations and nicknames (``"N Yorks"``, ``"Hull"``), the start of a name when it
    is whole words and fits one council (``"Bath"``), and a close misspelling (``"Norfok"``).
    Whenever the text is not simply the council's name, a :class:`CouncilMatchWarning` says
    which council was used. Raises :class:`UnknownCouncilError` when nothing matches (with
    the closest names), when more than one council fits (``"Kingston"``: upon Hull or upon
    Thames), or for a name that is only part of a word (``"Lincoln"`` is not Lincolnshire).
    """
    query = str(name_or_code).strip()
    if not query:
        raise UnknownCouncilError(query, [])
    upper = query.upper()
    code = upper[:-2] if upper.endswith(".0") else upper
    for col in ("la_code", "old_la_code", "ons_alias_code"):
        if col in councils.columns:
            hit = councils[councils[col].astype(str).str.upper() == code]
            if len(hit) == 1:
                return hit.iloc[0]
    if re.fullmatch(r"E\d{8}", code):
        ch = boundary_changes()
        succ = ch.loc[ch["predecessor_code"] == code, "current_code"].unique()
        if len(succ) == 1 and (councils["la_code"] == succ[0]).any():
            return _announce(query, councils[councils["la_code"] == succ[0]].iloc[0])
    if _plain(query) in {"england", _plain(ENGLAND)}:
        raise UnknownCouncilError(
            query,
            [],
            "England is not a council: `sendcast profile COUNCIL` shows England beside the council, "
            "and `sendcast forecast England` forecasts England",
        )
    if _plain(query) in {"london", "greater london"}:
        raise UnknownCouncilError(
            query, [], "London is a region of 33 councils: name one (e.g. City of London, Camden, Croydon)"
        )
    names = councils["la_name"].astype(str).tolist()
    norm_names = councils["la_name"].map(_normalise)
    target = _normalise(_NICKNAMES.get(query.lower(), query))
    hit = councils[norm_names == target]
    if len(hit) == 1:
        return _announce(query, hit.iloc[0])
    # the start of a name, in whole words ("Bath", "Kingston"): one council, or ambiguous
    words = councils[(norm_names == target) | norm_names.str.startswith(target + " ")] if target else councils.iloc[0:0]
    if len(words) == 1:
        return _announce(query, words.iloc[0])
    if len(words) > 1:
        options = words["la_name"].astype(str).tolist()
        raise UnknownCouncilError(
            query,
            options,
            f"{query!r} could be {', '.join(options[:-1])} or {options[-1]}: give more of the name, or a code",
        )
    close = difflib.get_close_matches(target, norm_names.tolist(), n=2, cutoff=0.9)
    if len(close) == 1 and not any(n.startswith(target) for n in norm_names):
        return _announce(query, councils[norm_names == close[0]].iloc[0])
    # part of a word ("Lincoln" of Lincolnshire) is not a match: suggest it first
    partial = [names[i] for i, n in enumerate(norm_names) if target and n.startswith(target)]
    best = difflib.get_close_matches(target, norm_names.tolist(), n=3, cutoff=0.5)
    suggestions = partial[:3] or [names[norm_names.tolist().index(b)] for b in best]
    raise UnknownCouncilError(query, suggestions)


def successors_of(code: str, changes: pd.DataFrame | None = None) -> list[str]:
    """Return the current council keys a (possibly old) code now belongs to, in YAML order."""
    changes = boundary_changes() if changes is None else changes
    out = changes.loc[changes["predecessor_code"] == code, "current_code"].tolist()
    out += changes.loc[(changes["successor_code"] == code) & (changes["current_code"] != code), "current_code"].tolist()
    return list(dict.fromkeys(out)) or [code]


def statistical_neighbours(
    la_code: str,
    neighbours_table: pd.DataFrame,
    edition: int = 2025,
    changes: pd.DataFrame | None = None,
) -> list[str]:
    """Return the current codes of a council's statistical neighbours, nearest first.

    Uses the ``statistical_neighbours`` table of the given edition. A neighbour that has since
    been split is replaced by all its successors (so a 2021 list may hold 11 codes); a council
    that did not exist in that edition (e.g. Cumberland in 2021) gets its predecessor's list,
    without itself. Returns ``[]`` when the council is not in the edition at all.
    """
    changes = boundary_changes() if changes is None else changes
    tab = neighbours_table[neighbours_table["edition"] == edition]
    mine = tab[tab["la_code"] == la_code]
    if mine.empty:
        preds = changes.loc[changes["current_code"] == la_code, "predecessor_code"].tolist()
        for p in preds:
            mine = tab[tab["la_code"] == p]
            if len(mine):
                break
    out: list[str] = []
    for code in mine.sort_values("rank")["neighbour_la_code"]:
        if not isinstance(code, str):
            continue
        for cur in successors_of(code, changes):
            if cur != la_code and cur not in out:
                out.append(cur)
    return out
