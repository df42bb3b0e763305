"""Numbers as words for the pages: every count passes through
:func:`sendcast.outputs.disclosure.format_count` (1-9 shown as ``<10``); money in £ with
millions; financial years and probabilities in words."""

from __future__ import annotations

import math

import pandas as pd

from sendcast.outputs.disclosure import Additive, format_count, protect

# forecast measures that add up (placements and ages to the total, the two special kinds to
# all special schools): a suppressed cell must not be recoverable by subtraction
PLACEMENTS = (
    "mainstream",
    "resourced_provision",
    "state_special",
    "independent_special",
    "ap_pru",
    "post16_fe",
    "other",
)
AGES = ("age_0_4", "age_5_10", "age_11_15", "age_16_19", "age_20_25")
FORECAST_RELATIONS = (
    Additive("measure", PLACEMENTS, "ehcp_total", ("la_code", "year")),
    Additive("measure", AGES, "ehcp_total", ("la_code", "year")),
    Additive("measure", ("state_special", "independent_special"), "special_school", ("la_code", "year")),
)
FORECAST_VALUES = ("mean", "p5", "p10", "p50", "p90", "p95")


def count(value: float | None) -> str:
    """A count of children or plans as text (``<10`` for 1-9, ``-`` when missing)."""
    return format_count(value)


def protect_forecast(
    summary: pd.DataFrame, decimals: int | None = 0, columns: tuple[str, ...] = FORECAST_VALUES
) -> pd.DataFrame:
    """The forecast summary for text and JSON outputs: counts of 1-9 as ``<10`` with
    secondary suppression across placements and ages (:func:`sendcast.outputs.disclosure.protect`)
    in ``columns`` (a page that shows only some of them protects only those)."""
    return protect(summary, columns, FORECAST_RELATIONS, decimals=decimals)


def shown(value: object) -> str:
    """A protected cell (number or ``<10``) as text."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def money(value: float | None, *, signed: bool = False) -> str:
    """£ in words for people: £81.5m, £950k, £1.2bn; ``-`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)
    sign = "-" if v < 0 else ("+" if signed and v > 0 else "")
    a = abs(v)
    if a >= 1e9:
        text = f"£{a / 1e9:,.2f}bn"
    elif a >= 1e6:
        text = f"£{a / 1e6:,.1f}m"
    elif a >= 1e3:
        text = f"£{a / 1e3:,.0f}k"
    else:
        text = f"£{a:,.0f}"
    return sign + text


def balance(value: float | None) -> str:
    """A DSG balance in words: 'a deficit of £81.5m' or 'a surplus of £2.0m'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not known"
    if value < 0:
        return f"a deficit of {money(-value)}"
    if value > 0:
        return f"a surplus of {money(value)}"
    return "nil"


def percent(value: float | None, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):,.{decimals}f}%"


def probability(p: float | None) -> str:
    """A probability as a percentage with a word: '12% (unlikely)'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "not assessed"
    pct = round(100 * float(p))
    if p < 0.1:
        word = "very unlikely"
    elif p < 0.33:
        word = "unlikely"
    elif p < 0.66:
        word = "about as likely as not"
    elif p < 0.9:
        word = "likely"
    else:
        word = "very likely"
    return f"{pct}% ({word})"


def fy(year: int) -> str:
    """Financial year label: 2024 -> '2024-25'."""
    return f"{year}-{(year + 1) % 100:02d}"


def march(year: int) -> str:
    """The end of financial year ``year``: 2024 -> '31 March 2025'."""
    return f"31 March {year + 1}"


def protect_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """A scenario comparison table for text and JSON: modelled plan counts (levels) of 1-9 as
    ``<10``; differences and money as they are (a difference is not a count of children)."""
    counts = (table["kind"] == "level") & ~table["measure"].astype(str).str.contains("spend|income|balance")
    protected = protect(table[counts], ("mean", "p10", "p50", "p90"), decimals=1)
    out = table.astype({c: object for c in ("mean", "p10", "p50", "p90")})
    out.loc[counts, ["mean", "p10", "p50", "p90"]] = protected[["mean", "p10", "p50", "p90"]]
    return out


def plain_number(value: object) -> str:
    """A number for a form field: 5500000.0 -> '5500000', -15.5 -> '-15.5'; text unchanged."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
