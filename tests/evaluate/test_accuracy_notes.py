"""The 'how accurate is this?' figures: forecasts made by today's method (from January 2019,
when the method first had earlier outcomes to learn from) are told apart from every origin
scored, each row names its origins, and England has its own row (not the councils' pooled one)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sendcast.evaluate.report import (
    GATED_FROM,
    accuracy_by_council,
    accuracy_rows,
    forecasts_words,
    origins_words,
)
from sendcast.model.forecast import ENGLAND
from sendcast.outputs import forecast_report as fr


def _scores() -> pd.DataFrame:
    """Two councils and England, one year ahead from January 2017 and 2019-2020.

    Council A: off by 10% in 2017 (outside its band), 2% and 4% in 2019-2020 (inside).
    Council B: off by 20% in 2017 (outside), 6% and 8% in 2019-2020 (6% inside, 8% outside).
    England: 5% in 2017 (outside), 1% in 2019 and 2020 (inside)."""
    rows = []
    for la, name, apes, ins in (
        ("A", "Council A", (0.10, 0.02, 0.04), (False, True, True)),
        ("B", "Council B", (0.20, 0.06, 0.08), (False, True, False)),
        (ENGLAND[0], "England", (0.05, 0.01, 0.01), (False, True, True)),
    ):
        for origin, ape, in80 in zip((2017, 2019, 2020), apes, ins, strict=True):
            rows.append(
                dict(
                    model="sendcast",
                    la_code=la,
                    la_name=name,
                    measure="ehcp_total",
                    horizon=1,
                    origin=origin,
                    ape=ape,
                    in80=in80,
                )
            )
    # a baseline's scores are not the published forecast's and must not count
    rows.append(dict(rows[0], model="last_value", ape=0.5))
    return pd.DataFrame(rows)


def test_scopes_split_at_the_first_origin_the_method_learned_from() -> None:
    assert GATED_FROM == 2019
    acc = accuracy_by_council(_scores())
    a = accuracy_rows(acc, "A")[1]
    # today's method: 2% and 4% -> mean 3%, both inside
    assert a["scope"] == "method" and a["n"] == 2
    assert a["mape"] == pytest.approx(0.03) and a["coverage80"] == 1.0
    assert (a["first_origin"], a["last_origin"]) == (2019, 2020)
    allc = accuracy_rows(acc, "ALL")[1]
    # councils pooled, England left out: 2, 4, 6, 8% -> median 5%; 3 of 4 inside
    assert allc["n"] == 4 and allc["mdape"] == pytest.approx(0.05) and allc["coverage80"] == 0.75
    everything = acc[(acc["la_code"] == "ALL") & (acc["scope"] == "all")].set_index("horizon").loc[1]
    # every origin: 2, 4, 6, 8, 10, 20% -> median 7%; 3 of 6 inside
    assert everything["n"] == 6 and everything["mdape"] == pytest.approx(0.07) and everything["coverage80"] == 0.5
    eng = accuracy_rows(acc, ENGLAND[0])[1]
    assert eng["la_name"] == "England" and eng["mape"] == pytest.approx(0.01) and eng["coverage80"] == 1.0


def test_early_origins_only_fall_back_to_every_origin() -> None:
    early = _scores()
    early = early[early["origin"] < GATED_FROM]
    acc = accuracy_by_council(early)
    assert set(acc["scope"]) == {"all"}
    row = accuracy_rows(acc, "A")[1]
    assert row["mape"] == pytest.approx(0.10)
    assert origins_words(row) == "made in January 2017"
    assert forecasts_words(row) == "the forecast made in January 2017"


def test_a_table_written_before_scopes_is_still_read() -> None:
    acc = accuracy_by_council(_scores())
    old = acc[acc["scope"] == "all"].drop(columns=["scope", "first_origin", "last_origin"])
    row = accuracy_rows(old, "A")[1]
    assert row["n"] == 3 and origins_words(row) == "" and forecasts_words(row) == "3 past forecasts"


class _Result:
    def __init__(self, codes: list[str]) -> None:
        self.summary = pd.DataFrame({"la_code": codes})


def test_notes_name_the_origins_and_england_speaks_for_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "accuracy.parquet"
    accuracy_by_council(_scores()).to_parquet(path)
    monkeypatch.setattr(fr, "ACCURACY_FILE", path)
    england = fr.accuracy_note(_Result([ENGLAND[0]]), ENGLAND[0])  # type: ignore[arg-type]
    assert (
        "for England: 1 year ahead its median was off by 1.0% on average over the 2 forecasts made each January "
        "from 2019 to 2020, and 2 of 2 outcomes fell inside the 80% band" in england
    )
    council = fr.accuracy_note(_Result(["B"]), "B")  # type: ignore[arg-type]
    assert "off by 7.0% on average over the 2 forecasts" in council and "1 of 2 outcomes" in council
    several = fr.accuracy_note(_Result(["A", "B"]))  # type: ignore[arg-type]
    assert "for all councils: 1 year ahead, over all councils' forecasts made each January from 2019" in several
    assert "off by 5.0% (median) and 75% of outcomes" in several


def test_report_gives_englands_band_for_todays_method_then_every_origin() -> None:
    from sendcast.evaluate.report import html_report

    s = _scores()
    s = s.assign(
        year=s["origin"] + s["horizon"],
        actual=100.0,
        p10=90.0,
        p50=100.0,
        p90=110.0,
        error=0.0,
        scaled_error=0.0,
        in50=s["in80"],
        in90=s["in80"],
        width80=20.0,
        crps=1.0,
    )
    page = html_report(s)
    # England: outside in 2017, inside in 2019 and 2020
    assert (
        "England's 80% band held England's outcome in 2 of 2 forecasts made from January 2019 on (the method as it "
        "runs today, learning from earlier origins), and in 2 of 3 counting every origin scored" in page
    )


def test_backtest_reports_todays_method_first_then_every_origin() -> None:
    from sendcast.evaluate.report import scopes

    s = _scores()
    (label1, first), (label2, every) = scopes(s)
    assert label1.startswith("origins from January 2019") and set(first["origin"]) == {2019, 2020}
    assert label2 == "all origins scored" and len(every) == len(s)
    # only early origins, or only later ones: one scope, every origin
    assert [label for label, _ in scopes(s[s["origin"] < 2019])] == ["all origins scored"]
    assert [label for label, _ in scopes(s[s["origin"] >= 2019])] == ["all origins scored"]
