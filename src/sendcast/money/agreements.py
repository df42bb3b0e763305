"""Safety Valve agreements as data, and what a budget forecast says about meeting them.

An agreement file (YAML, e.g. ``examples/norfolk/agreement.yaml``) holds: the council, when it
was signed and its source; the opening DSG balance with its date and source; DfE Safety Valve
payments, council contributions and the schools-block transfer (% a year) by financial year;
the conditions (text); and the target (cumulative DSG balance at least X at the end of a
financial year). Balances are signed: negative = deficit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from sendcast.parameters import (
    InputModel,
    ParameterError,
    Source,
    financial_year_label,
    financial_year_start,
    pydantic_error_key,
    read_yaml_mapping,
)

# End dates of the statutory override (DSG deficits kept off councils' general funds).
STATUTORY_OVERRIDE_YEARS: tuple[int, ...] = (2025, 2027)  # FY 2025-26 -> March 2026, 2027-28


class YearAmount(InputModel):
    """An amount (£) in one financial year."""

    model_config = ConfigDict(extra="forbid")
    financial_year: int
    value: float = Field(ge=0, allow_inf_nan=False)
    note: str | None = None

    @field_validator("financial_year", mode="before")
    @classmethod
    def _fy(cls, v: Any) -> int:
        return financial_year_start(v)


class YearPercent(InputModel):
    """A percentage (of the schools block) in one financial year."""

    model_config = ConfigDict(extra="forbid")
    financial_year: int
    percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    note: str | None = None

    @field_validator("financial_year", mode="before")
    @classmethod
    def _fy(cls, v: Any) -> int:
        return financial_year_start(v)


class Balance(InputModel):
    """The cumulative DSG balance (negative = deficit) on a date, with its source."""

    model_config = ConfigDict(extra="forbid")
    as_at: dt.date
    value: float = Field(allow_inf_nan=False)
    unit: str = "gbp"
    source: Source
    note: str | None = None


class Target(InputModel):
    """Cumulative DSG balance of at least ``cumulative_balance_at_least`` at the end of a year."""

    model_config = ConfigDict(extra="forbid")
    financial_year: int
    cumulative_balance_at_least: float = Field(default=0.0, allow_inf_nan=False)
    description: str | None = None

    @field_validator("financial_year", mode="before")
    @classmethod
    def _fy(cls, v: Any) -> int:
        return financial_year_start(v)


class PublishedBalance(InputModel):
    """A DSG balance the council published for a past financial year (for back-casts)."""

    model_config = ConfigDict(extra="forbid")
    financial_year: int
    in_year_balance: float | None = Field(default=None, allow_inf_nan=False)
    budgeted_in_year_balance: float | None = Field(default=None, allow_inf_nan=False)
    cumulative_balance: float | None = Field(default=None, allow_inf_nan=False)
    source: Source

    @field_validator("financial_year", mode="before")
    @classmethod
    def _fy(cls, v: Any) -> int:
        return financial_year_start(v)


class Agreement(InputModel):
    """A Safety Valve (or similar) agreement between DfE and a council."""

    model_config = ConfigDict(extra="forbid")
    council: str
    la_code: str
    old_la_code: str | None = None
    signed: dt.date
    source: Source
    opening_balance: Balance
    safety_valve_payments: list[YearAmount] = Field(default_factory=list)
    council_contributions: list[YearAmount] = Field(default_factory=list)
    block_transfer: list[YearPercent] = Field(default_factory=list)
    target: Target
    conditions: list[str] = Field(default_factory=list)
    published_balances: list[PublishedBalance] = Field(default_factory=list)
    notes: str | None = None
    file: str = ""

    @model_validator(mode="after")
    def _dates(self) -> Agreement:
        end = dt.date(self.target.financial_year + 1, 3, 31)
        if self.signed > end:
            raise ValueError(
                f"signed: {self.signed} is after the end of the target year "
                f"({financial_year_label(self.target.financial_year)}, {end})"
            )
        return self

    def by_year(self, which: str) -> dict[int, float]:
        """Return {financial year: amount} for ``safety_valve_payments`` or
        ``council_contributions``, or {year: percent} for ``block_transfer``."""
        items = getattr(self, which)
        out: dict[int, float] = {}
        for it in items:
            out[it.financial_year] = out.get(it.financial_year, 0.0) + float(
                it.percent if which == "block_transfer" else it.value
            )
        return out

    @property
    def opening_financial_year(self) -> int:
        """The financial year starting the day after the opening balance (31 March 2023 -> 2023)."""
        d = self.opening_balance.as_at + dt.timedelta(days=1)
        return d.year if d.month >= 4 else d.year - 1


def load_agreement(path: Path | str) -> Agreement:
    """Return the validated :class:`Agreement` in a YAML file.

    Raises ParameterError naming the file and the key at fault (missing key, wrong type,
    negative payment, a financial year not like ``2023-24``, not a mapping, over 1 MB).
    """
    p = Path(path)
    try:
        data = read_yaml_mapping(p)
    except ParameterError:
        raise
    except ValueError as e:  # YAML's own date parser: 2023-02-30 -> "day is out of range for month"
        raise ParameterError(p, "(file)", f"invalid date: {e}") from None
    try:
        return Agreement.model_validate({**data, "file": str(p)})
    except ValidationError as e:
        raise ParameterError(p, *pydantic_error_key(e)) from e


def probability_of_target(cumulative: pd.DataFrame, target: Target) -> float:
    """Return the share of draws whose cumulative balance at the end of the target year is at
    least the target (e.g. 3 of 4 draws at or above 0 -> 0.75).

    ``cumulative``: columns ``draw, financial_year, value``. NaN when the year is not covered.
    """
    at = cumulative[cumulative["financial_year"] == target.financial_year]
    if at.empty:
        return float("nan")
    return float((at["value"].to_numpy() >= target.cumulative_balance_at_least).mean())


def peak_deficit_year(cumulative: pd.DataFrame) -> pd.DataFrame:
    """Return the distribution over draws of the year the cumulative deficit is largest.

    Columns ``financial_year, period, probability`` (the share of draws whose lowest
    cumulative balance falls at the end of that year; ties -> the earliest year).
    """
    wide = cumulative.pivot(index="draw", columns="financial_year", values="value")
    peak = wide.idxmin(axis=1)
    dist = peak.value_counts(normalize=True).sort_index()
    return pd.DataFrame(
        {
            "financial_year": dist.index.astype(int),
            "period": [financial_year_label(int(y)) for y in dist.index],
            "probability": dist.to_numpy(),
        }
    )


@dataclass
class AgreementAssessment:
    """What the forecast says about an agreement.

    ``probability_meeting_target`` (share of draws); ``peak_year`` (distribution);
    ``override_balances`` (cumulative balance at March 2026 and March 2028: mean, p10, p50,
    p90; NaN when outside the forecast).
    """

    target: Target
    probability_meeting_target: float
    peak_year: pd.DataFrame
    override_balances: pd.DataFrame


def assess_agreement(cumulative: pd.DataFrame, agreement: Agreement) -> AgreementAssessment:
    """Return the :class:`AgreementAssessment` of ``cumulative`` (draw, financial_year, value)."""
    rows = []
    for fy in STATUTORY_OVERRIDE_YEARS:
        v = cumulative.loc[cumulative["financial_year"] == fy, "value"].to_numpy()
        q = np.quantile(v, [0.1, 0.5, 0.9]) if v.size else np.full(3, np.nan)
        rows.append(
            {
                "as_at": f"March {fy + 1}",
                "financial_year": fy,
                "mean": float(v.mean()) if v.size else np.nan,
                "p10": q[0],
                "p50": q[1],
                "p90": q[2],
            }
        )
    return AgreementAssessment(
        target=agreement.target,
        probability_meeting_target=probability_of_target(cumulative, agreement.target),
        peak_year=peak_deficit_year(cumulative),
        override_balances=pd.DataFrame(rows),
    )
