"""The council profile: figures, rates, neighbour medians, suppression, and the CLI around them.

Hand-checked cases run on a tiny synthetic store; the real-data checks use the store that
``sendcast.store.open_store()`` finds (``$SENDCAST_STORE``, the user store or the embedded
copy) and are skipped when there is none.
"""

from __future__ import annotations

import io
import json
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sendcast.cli import app
from sendcast.outputs import profile as prof
from sendcast.store import Store, open_store

COUNCIL, N1, N2, N3, ENG = "E06000001", "E06000002", "E06000003", "E06000004", "E92000001"


@pytest.fixture(scope="module")
def store() -> Store:
    """The real store, or skip."""
    s = open_store()
    if not (s.path / "manifest.json").is_file() or "series" not in s.tables():
        pytest.skip(f"no built sendcast store at {s.path}")
    return s


def _series(code: str, year: int, period_type: str, measure: str, value: float) -> dict[str, object]:
    return {
        "la_code": code,
        "la_name": code,
        "year": year,
        "period_type": period_type,
        "measure": measure,
        "value": value,
        "source_release": "ehcp-statistics:2025",
        "continuity": "published",
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A synthetic store: one council with three neighbours, and England."""
    d = tmp_path_factory.mktemp("tiny_store")
    names = {COUNCIL: "Tinyshire", N1: "Nbr One", N2: "Nbr Two", N3: "Nbr Three", ENG: "England"}
    councils = pd.DataFrame(
        [
            {
                "la_code": c,
                "old_la_code": str(900 + i),
                "la_name": n,
                "region_code": "E12000006",
                "region_name": "East of England",
                "ons_alias_code": None,
                "la_type": "UA",
                "predecessors": "",
            }
            for i, (c, n) in enumerate(names.items())
            if c != ENG
        ]
    )
    neighbours = pd.DataFrame({"la_code": [COUNCIL] * 3, "rank": [1, 2, 3], "neighbour_la_code": [N1, N2, N3]})
    rows = [
        # January 2024 caseloads: council 250; neighbours 100, 300, 200 -> median 200
        _series(COUNCIL, 2024, "january", "ehcp_total", 250),
        _series(N1, 2024, "january", "ehcp_total", 100),
        _series(N2, 2024, "january", "ehcp_total", 300),
        _series(N3, 2024, "january", "ehcp_total", 200),
        _series(ENG, 2024, "january", "ehcp_total", 5000),
        _series(COUNCIL, 2023, "january", "ehcp_total", 200),
        # a small placement count (5) and a zero one
        _series(COUNCIL, 2024, "january", "ap_pru", 5),
        _series(COUNCIL, 2024, "january", "post16_fe", 0),
        _series(COUNCIL, 2024, "january", "mainstream", 245),
        # timeliness: neighbour N3 published nothing -> median of 40 and 60 = 50
        _series(COUNCIL, 2023, "calendar_year", "plans_within_20_weeks_pct", 70.0),
        _series(N1, 2023, "calendar_year", "plans_within_20_weeks_pct", 40.0),
        _series(N2, 2023, "calendar_year", "plans_within_20_weeks_pct", 60.0),
    ]
    series = pd.DataFrame(rows)
    # 1,000 people at every age 0-25 -> 26,000 aged 0-25
    population = pd.DataFrame(
        [
            {
                "la_code": c,
                "year": 2024,
                "age": a,
                "population": 1000.0,
                "continuity": "published",
                "interpolated": False,
            }
            for c in names
            for a in range(26)
        ]
    )
    obs = pd.DataFrame(
        [
            {
                "la_code": c,
                "old_la_code": None,
                "la_name": names[c],
                "geographic_level": "la",
                "measure": "pct_pupils_ehcp",
                "breakdown_topic": "total",
                "breakdown": "total",
                "period_type": "academic_year",
                "year": 2023,
                "period": "2023-24",
                "value": v,
                "missing_reason": None,
                "unit": "percent",
                "source": "dfe-lait",
                "release": "2026-04",
                "file": "f.csv",
                "line": 1,
            }
            for c, v in ((COUNCIL, 5.0), (N1, 3.0), (N2, 4.0), (N3, 6.0), (ENG, 4.8))
        ]
    )
    for name, df in (
        ("councils", councils),
        ("neighbours_current", neighbours),
        ("series", series),
        ("population", population),
        ("observations", obs),
    ):
        df.to_parquet(d / f"{name}.parquet", index=False)
    (d / "manifest.json").write_text(json.dumps({"releases": []}))
    return Store(d)


def _one(p: pd.DataFrame, measure: str, comparator: str, period: str) -> pd.Series:
    r = p[(p["measure"] == measure) & (p["comparator"] == comparator) & (p["period"] == period)]
    assert len(r) == 1, (measure, comparator, period)
    return r.iloc[0]


# --------------------------------------------------------------------------- suppression


def _rows(values: list[float], unit: str = "plans", comparator: str = "council") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la_code": COUNCIL,
            "la_name": "Tinyshire",
            "period": [str(2020 + i) for i in range(len(values))],
            "period_type": "january",
            "measure": "ehcp_total",
            "value": values,
            "unit": unit,
            "source": "s",
            "comparator": comparator,
        }
    )


def test_small_counts_hidden_zero_kept_ten_shown() -> None:
    df = pd.concat([_rows([0.0, 1.0, 9.0, 9.4, 10.0]), _rows([5.0], unit="percent")], ignore_index=True)
    out = prof.apply_disclosure(df)
    assert out["value"].iloc[0] == 0  # zero stays zero
    assert out["value"].iloc[1:4].isna().all()  # 1, 9 and 9.4 (rounds to 9) suppressed
    assert out["value"].iloc[4] == 10  # 10 shown
    assert out["value"].iloc[5] == 5  # 5% is not a count
    assert prof.is_suppressed(out["unit"]).tolist() == [False, True, True, True, False, False]
    assert [prof.format_value(v, u) for v, u in zip(out["value"], out["unit"], strict=True)] == [
        "0",
        "<10",
        "<10",
        "<10",
        "10",
        "5.0",
    ]


def test_secondary_suppression_by_hand() -> None:
    # 100 plans = 60 mainstream + 35 state special + 5 AP/PRU + 0 in the other four groups:
    # hiding the 5 alone leaves 100 - 60 - 35 - 0 = 5, so the smallest cell of 10 or more
    # (35) is hidden too ("c"), and so is its share (35% of 100 gives 35 back)
    rows = {"ehcp_total": 100, "mainstream": 60, "state_special": 35, "ap_pru": 5}
    rows |= {m: 0 for m in prof.PLACEMENTS if m not in rows}
    shares = {f"{m}_pct": v for m, v in rows.items() if m != "ehcp_total"}
    df = pd.DataFrame(
        [
            {
                "la_code": COUNCIL,
                "la_name": "T",
                "period": "2024",
                "period_type": "january",
                "measure": m,
                "value": float(v),
                "unit": "percent of plans" if m.endswith("_pct") else "plans",
                "source": "s",
                "comparator": comp,
            }
            for comp in ("council", "neighbour_median")
            for m, v in (rows | shares).items()
        ]
    )
    out = prof.apply_disclosure(df).set_index(["comparator", "measure"])
    shown = {m: prof.format_value(out.loc[("council", m), "value"], out.loc[("council", m), "unit"]) for m in rows}
    assert shown["ap_pru"] == "<10" and shown["state_special"] == "c"
    assert shown["mainstream"] == "60" and shown["ehcp_total"] == "100" and shown["other"] == "0"
    assert out.loc[("council", "state_special_pct"), "value"] != out.loc[("council", "state_special_pct"), "value"]
    assert out.loc[("council", "mainstream_pct"), "value"] == 60
    # a neighbour median is no sum: only its small count (and that count's share) is hidden
    assert np.isnan(out.loc[("neighbour_median", "ap_pru"), "value"])
    assert out.loc[("neighbour_median", "state_special"), "value"] == 35


def test_small_counts_suppressed_in_profile_and_their_shares(tiny: Store) -> None:
    p = prof.profile_table(tiny, COUNCIL)
    ap = _one(p, "ap_pru", "council", "2024")
    assert np.isnan(ap["value"]) and prof.is_suppressed(pd.Series([ap["unit"]])).all()
    # the share 5 / 250 = 2% would give the count away: suppressed with it
    share = _one(p, "ap_pru_pct", "council", "2024")
    assert np.isnan(share["value"]) and prof.format_value(share["value"], share["unit"]) == "c"
    # zero stays zero; 245 is hidden ("c") because 250 - 245 - 0 would give the 5 away
    assert _one(p, "post16_fe", "council", "2024")["value"] == 0
    main = _one(p, "mainstream", "council", "2024")
    assert np.isnan(main["value"]) and prof.format_value(main["value"], main["unit"]) == "c"
    wide = prof.profile_wide(p, "january")
    # the council's row is the one that names the measure
    assert wide.loc[wide["measure"] == "plans in alternative provision / PRU", "2024"].item() == "<10"
    assert wide.loc[wide["measure"] == "plans in post-16 further education", "2024"].item() == "0"
    page = prof.profile_html(tiny, COUNCIL, p)
    assert "<td>&lt;10</td>" in page


# --------------------------------------------------------------------------- arithmetic


def test_rate_per_10000_by_hand(tiny: Store) -> None:
    p = prof.profile_table(tiny, COUNCIL)
    # 250 plans / 26,000 aged 0-25 x 10,000 = 96.15...
    assert _one(p, "ehcp_per_10k_0_25", "council", "2024")["value"] == pytest.approx(96.1538, abs=1e-3)
    # England: 5,000 / 26,000 x 10,000 = 1,923.08
    assert _one(p, "ehcp_per_10k_0_25", "england", "2024")["value"] == pytest.approx(1923.077, abs=1e-2)


def test_neighbour_median_by_hand(tiny: Store) -> None:
    p = prof.profile_table(tiny, COUNCIL)
    # neighbours 100, 300, 200 -> median 200
    assert _one(p, "ehcp_total", "neighbour_median", "2024")["value"] == 200
    # one neighbour published nothing: median of 40 and 60 -> 50
    assert _one(p, "plans_within_20_weeks_pct", "neighbour_median", "2023")["value"] == 50
    # LAIT: 3, 4, 6 -> 4
    assert _one(p, "pct_pupils_ehcp", "neighbour_median", "2023-24")["value"] == 4
    assert _one(p, "pct_pupils_ehcp", "england", "2023-24")["value"] == 4.8
    assert set(p["la_code"]) == {COUNCIL} and set(p["la_name"]) == {"Tinyshire"}


def test_summary_text_by_hand(tiny: Store) -> None:
    text = prof.summary_text(prof.profile_table(tiny, COUNCIL))
    # 250 plans, 96 per 10,000; 250 / 200 - 1 = +25.0%
    assert text.startswith("Tinyshire had 250 EHC plans in January 2024, 96 per 10,000")
    assert "up 25.0% in a year" in text


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def norfolk(store: Store) -> pd.DataFrame:
    return prof.profile_table(store, "E10000020")


def test_norfolk_caseload_january_2024(norfolk: pd.DataFrame) -> None:
    assert _one(norfolk, "ehcp_total", "council", "2024")["value"] == 10736
    assert list(norfolk.columns) == prof.COLUMNS
    assert set(norfolk["comparator"]) == set(prof.COMPARATORS)


def test_norfolk_rate_and_neighbour_median_by_hand(store: Store, norfolk: pd.DataFrame) -> None:
    pop = store.query(
        "SELECT sum(population) AS p FROM population WHERE la_code = 'E10000020' AND year = 2024 "
        "AND age BETWEEN 0 AND 25"
    )["p"].iloc[0]
    # 10,736 plans / 250,190 aged 0-25 (mid-2024) x 10,000 = 429.11
    assert _one(norfolk, "ehcp_per_10k_0_25", "council", "2024")["value"] == pytest.approx(10736 / pop * 1e4)
    assert _one(norfolk, "ehcp_per_10k_0_25", "council", "2024")["value"] == pytest.approx(429.1, abs=0.1)
    nb = store.query("SELECT neighbour_la_code FROM neighbours_current WHERE la_code = 'E10000020'")
    vals = store.query(
        "SELECT value FROM series WHERE measure = 'ehcp_total' AND period_type = 'january' "
        f"AND year = 2024 AND la_code IN ({','.join(repr(c) for c in nb['neighbour_la_code'])})"
    )["value"]
    assert len(vals) == 10
    assert _one(norfolk, "ehcp_total", "neighbour_median", "2024")["value"] == statistics.median(vals)


def test_norfolk_html_is_self_contained(store: Store, norfolk: pd.DataFrame) -> None:
    page = prof.profile_html(store, "E10000020", norfolk)
    assert "Norfolk had 10,736 EHC plans in January 2024" in page
    assert page.count("plotly.js v") <= 2  # the library's banner, inlined once
    assert "<script src=" not in page  # nothing fetched from the network
    assert "sendcast forecast Norfolk --format html" in page


# --------------------------------------------------------------------------- CLI


def test_cli_unknown_council_exit_2_with_suggestions(store: Store) -> None:
    res = CliRunner().invoke(app, ["profile", "Narfok"])
    assert res.exit_code == 2
    assert "Norfolk" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("name", ["Norfolk", "norfolk", "926", "E10000020"])
def test_cli_csv_columns_exact(store: Store, name: str) -> None:
    res = CliRunner().invoke(app, ["profile", name, "--format", "csv"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout))
    assert list(df.columns) == prof.COLUMNS
    assert set(df["la_code"]) == {"E10000020"}


def test_cli_html_and_json_written(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "norfolk.html"
    res = CliRunner().invoke(app, ["profile", "Norfolk", "--format", "html", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<!doctype html>")
    res = CliRunner().invoke(app, ["profile", "926", "--format", "json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)[0]["la_code"] == "E10000020"


def test_cli_las(store: Store) -> None:
    res = CliRunner().invoke(app, ["las", "--format", "csv"])
    assert res.exit_code == 0
    df = pd.read_csv(io.StringIO(res.stdout), dtype=str)
    assert len(df) == len(store.table("councils"))
    assert df.loc[df["ons_code"] == "E10000020", "dfe_code"].item() == "926"
