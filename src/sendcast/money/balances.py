"""Published DSG balances in pounds, for every council: the budget's starting point.

The DfE publishes each council's cumulative DSG balance at 31 March as a percentage of its
total DSG income (SEND and AP inclusion dashboard ``dsg_deficit.csv``, derived by DfE from
s251 outturn line 1.9.3 "DSG carried forward" divided by the total DSG allocation; March 2020,
2021 and 2022). :func:`dsg_balances` turns it into pounds::

    cumulative_balance (£, negative = deficit) = - deficit % / 100 x total DSG before recoupment

with the total DSG of the same financial year from the DSG allocation tables in the store.
The percentage is published to two decimals, so the pound figure is exact to within
0.005% of the total DSG (about £35,000 for Norfolk); ``precision`` holds that half-width.
``in_year_balance`` is the change from the previous 31 March when both are published.

A user adds later balances (a council's outturn report, the DfE's s251 outturn file) with a
CSV in the documented layout (:func:`read_balances_csv`) or with ``published_balances`` in an
agreement file. :func:`opening_balance` picks the latest balance at or before the start of a
budget's first year, preferring a user's figure to the store's for the same date.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sendcast.parameters import financial_year_label, financial_year_start

BALANCE_COLUMNS = [
    "la_code",
    "la_name",
    "financial_year",
    "as_at",
    "cumulative_balance",
    "in_year_balance",
    "precision",
    "source",
    "derivation",
]
USER_CSV_COLUMNS = ["la_code", "financial_year", "cumulative_balance", "in_year_balance", "source"]
PCT_MEASURE = "dsg_cumulative_balance_pct_income"
ENGLAND_CODE = "E92000001"
DASHBOARD_SOURCE = "DfE SEND and AP inclusion dashboard (dsg_deficit.csv) x DSG allocations (total DSG)"
# priority when two balances are for the same council and date: a user's own figure wins
_PRIORITY = {"user": 0, "agreement": 1, "store": 2}


class BalanceFileError(ValueError):
    """A balances CSV that cannot be used; ``str()`` names the file, row and field."""


def as_at_label(financial_year: int) -> str:
    """``2021`` -> ``31 March 2022`` (the end of financial year 2021-22)."""
    return f"31 March {financial_year + 1}"


def dsg_balances(observations: pd.DataFrame) -> pd.DataFrame:
    """Return the store's published cumulative DSG balances in £ (:data:`BALANCE_COLUMNS`).

    One row per council (and England, ``E92000001``) and 31 March with a published
    percentage and a total DSG figure. ``financial_year`` is the year ending on ``as_at``
    (2021 -> 2021-22, 31 March 2022). Councils with a percentage but no total DSG row are left
    out (nothing is guessed).
    """
    pct = observations[(observations["measure"] == PCT_MEASURE) & observations["value"].notna()]
    dsg = observations[
        (observations["measure"] == "total_dsg")
        & (observations["breakdown"] == "before_recoupment")
        & observations["value"].notna()
    ]
    if pct.empty or dsg.empty:
        return pd.DataFrame(columns=BALANCE_COLUMNS)

    def key(df: pd.DataFrame) -> pd.Series:
        code = df["la_code"].astype(str)
        return code.where(df["geographic_level"] != "national", ENGLAND_CODE)

    pct = pct.assign(_code=key(pct))
    dsg = dsg.assign(_code=key(dsg))
    dsg = dsg[dsg["geographic_level"].isin(["la", "national"])]
    pct = pct[pct["geographic_level"].isin(["la", "national"])]
    total = dsg.groupby(["_code", "year"])["value"].sum()
    rows = []
    for _, r in pct.iterrows():
        k = (r["_code"], int(r["year"]))
        if k not in total.index:
            continue
        t = float(total.loc[k])
        fy = int(r["year"])
        rows.append(
            {
                "la_code": r["_code"],
                "la_name": "England" if r["_code"] == ENGLAND_CODE else r["la_name"],
                "financial_year": fy,
                "as_at": dt.date(fy + 1, 3, 31),
                "cumulative_balance": -float(r["value"]) / 100.0 * t,
                "in_year_balance": np.nan,
                "precision": 0.00005 * t,
                "source": "store",
                "derivation": (
                    f"-{float(r['value']):.2f}% x total DSG {financial_year_label(fy)} £{t:,.0f} "
                    f"({r.get('file', 'dsg_deficit.csv')}:{r.get('line', '')}); {DASHBOARD_SOURCE}"
                ),
            }
        )
    out = pd.DataFrame(rows, columns=BALANCE_COLUMNS)
    return _with_in_year(out)


def _with_in_year(df: pd.DataFrame) -> pd.DataFrame:
    """Fill missing ``in_year_balance`` with the change from the previous 31 March."""
    if df.empty:
        return df
    df = df.sort_values(["la_code", "financial_year"]).reset_index(drop=True)
    prev = df.groupby("la_code")["cumulative_balance"].shift(1)
    prev_fy = df.groupby("la_code")["financial_year"].shift(1)
    consecutive = prev_fy == df["financial_year"] - 1
    diff = (df["cumulative_balance"] - prev).where(consecutive)
    df["in_year_balance"] = df["in_year_balance"].where(df["in_year_balance"].notna(), diff)
    return df


def _finite(text: str, file: Path, row: int, field: str, *, required: bool) -> float:
    t = text.strip().replace(",", "").replace("£", "")
    if not t:
        if required:
            raise BalanceFileError(f"{file}: row {row}: {field}: empty (a number in £ is needed)")
        return float("nan")
    try:
        v = float(t)
    except ValueError:
        raise BalanceFileError(f"{file}: row {row}: {field}: not a number: {text[:30]!r}") from None
    if not math.isfinite(v):
        raise BalanceFileError(f"{file}: row {row}: {field}: must be a finite number (got {text[:30]!r})")
    return v


def read_balances_csv(path: Path | str, councils: pd.DataFrame) -> pd.DataFrame:
    """Read a user's balances CSV and return it in :data:`BALANCE_COLUMNS`.

    Layout (one row per council and financial year; £, negative = deficit)::

        la_code,financial_year,cumulative_balance,in_year_balance,source
        E10000020,2023-24,-81500000,-43100000,Norfolk cabinet 2024-25 outturn report

    ``la_code``: ONS code or three-digit DfE code of a current council; ``financial_year``:
    the year ending on the 31 March of the balance (``2023-24`` = 31 March 2024);
    ``in_year_balance`` may be blank. Raises :class:`BalanceFileError` naming the file, row and
    field for a missing column, an unknown council, a bad year, a non-finite number or a
    repeated council and year.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise BalanceFileError(f"{p}: cannot be read as UTF-8 text ({e.__class__.__name__})") from e
    reader = csv.DictReader(text.splitlines())
    try:
        return _read_rows(p, reader, councils)
    except csv.Error as e:  # a field over the csv module's limit, a NUL byte
        raise BalanceFileError(f"{p}: row {reader.line_num or 1}: not a readable CSV row ({e})") from None


def _read_rows(p: Path, reader: csv.DictReader[str], councils: pd.DataFrame) -> pd.DataFrame:
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in USER_CSV_COLUMNS if c not in header]
    if missing:
        raise BalanceFileError(f"{p}: row 1: header lacks column(s) {missing}; expected {USER_CSV_COLUMNS}")
    codes = {str(c): str(c) for c in councils["la_code"]}
    codes.update({str(o): str(c) for o, c in zip(councils["old_la_code"], councils["la_code"], strict=True)})
    names = dict(zip(councils["la_code"].astype(str), councils["la_name"].astype(str), strict=True))
    rows = []
    seen: set[tuple[str, int]] = set()
    for i, raw in enumerate(reader, start=2):
        r = {k.strip(): (v or "") for k, v in raw.items() if k is not None}
        code = codes.get(r["la_code"].strip())
        if code is None:
            raise BalanceFileError(f"{p}: row {i}: la_code: {r['la_code'][:20]!r} is not a current council's code")
        try:
            fy = financial_year_start(r["financial_year"])
        except ValueError as e:
            raise BalanceFileError(f"{p}: row {i}: financial_year: {e}") from None
        if not 2000 <= fy <= 2060:
            raise BalanceFileError(f"{p}: row {i}: financial_year: {fy} is outside 2000-01 to 2060-61")
        if (code, fy) in seen:
            raise BalanceFileError(f"{p}: row {i}: la_code, financial_year: {code} {financial_year_label(fy)} repeated")
        seen.add((code, fy))
        src = r["source"].strip()
        if not src:
            raise BalanceFileError(f"{p}: row {i}: source: empty (say where the figure was published)")
        rows.append(
            {
                "la_code": code,
                "la_name": names.get(code, code),
                "financial_year": fy,
                "as_at": dt.date(fy + 1, 3, 31),
                "cumulative_balance": _finite(r["cumulative_balance"], p, i, "cumulative_balance", required=True),
                "in_year_balance": _finite(r["in_year_balance"], p, i, "in_year_balance", required=False),
                "precision": 0.0,
                "source": "user",
                "derivation": f"{p.name} row {i}: {src}",
            }
        )
    return pd.DataFrame(rows, columns=BALANCE_COLUMNS)


def agreement_balances(agreement: object, la_name: str) -> pd.DataFrame:
    """Return the balances an agreement file states (its ``published_balances`` with a
    cumulative figure, and its ``opening_balance``) in :data:`BALANCE_COLUMNS`."""
    rows = []
    ob = agreement.opening_balance  # type: ignore[attr-defined]
    d = ob.as_at + dt.timedelta(days=1)
    ob_fy = (d.year if d.month >= 4 else d.year - 1) - 1
    file = agreement.file  # type: ignore[attr-defined]
    rows.append(
        {
            "la_code": agreement.la_code,  # type: ignore[attr-defined]
            "la_name": la_name,
            "financial_year": ob_fy,
            "as_at": ob.as_at,
            "cumulative_balance": float(ob.value),
            "in_year_balance": np.nan,
            "precision": 0.0,
            "source": "agreement",
            "derivation": f"{file}: opening_balance ({ob.source.title})",
        }
    )
    for pb in agreement.published_balances:  # type: ignore[attr-defined]
        if pb.cumulative_balance is None:
            continue
        rows.append(
            {
                "la_code": agreement.la_code,  # type: ignore[attr-defined]
                "la_name": la_name,
                "financial_year": pb.financial_year,
                "as_at": dt.date(pb.financial_year + 1, 3, 31),
                "cumulative_balance": float(pb.cumulative_balance),
                "in_year_balance": np.nan if pb.in_year_balance is None else float(pb.in_year_balance),
                "precision": 0.0,
                "source": "agreement",
                "derivation": (
                    f"{file}: published_balances {financial_year_label(pb.financial_year)} ({pb.source.title})"
                ),
            }
        )
    return pd.DataFrame(rows, columns=BALANCE_COLUMNS)


def combine(*tables: pd.DataFrame) -> pd.DataFrame:
    """Stack balance tables; for the same council and date keep the user's, then the
    agreement's, then the store's figure. In-year balances are filled from consecutive years."""
    parts = [t for t in tables if t is not None and not t.empty]
    if not parts:
        return pd.DataFrame(columns=BALANCE_COLUMNS)
    df = pd.concat(parts, ignore_index=True)
    df["_p"] = df["source"].map(_PRIORITY).fillna(3)
    df = df.sort_values(["la_code", "financial_year", "_p"]).drop_duplicates(["la_code", "financial_year"])
    return _with_in_year(df.drop(columns="_p").reset_index(drop=True))


@dataclass(frozen=True)
class Opening:
    """The balance a budget starts from: cumulative £ at 31 March of ``financial_year``."""

    financial_year: int
    value: float
    precision: float
    source: str
    derivation: str

    @property
    def as_at(self) -> str:
        return as_at_label(self.financial_year)

    def describe(self) -> str:
        return f"£{self.value:,.0f} at {self.as_at} ({self.derivation})"


def opening_balance(balances: pd.DataFrame, la_code: str, first_year: int) -> Opening | None:
    """Return the latest published balance at or before the start of ``first_year`` (i.e. at
    31 March of a year up to ``first_year``), or None when the council has none."""
    b = balances[(balances["la_code"] == la_code) & (balances["financial_year"] <= first_year - 1)]
    b = b[b["cumulative_balance"].notna()]
    if b.empty:
        return None
    r = b.sort_values("financial_year").iloc[-1]
    return Opening(
        financial_year=int(r["financial_year"]),
        value=float(r["cumulative_balance"]),
        precision=float(r["precision"]) if pd.notna(r["precision"]) else 0.0,
        source=str(r["source"]),
        derivation=str(r["derivation"]),
    )
