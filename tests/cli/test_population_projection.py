"""A user-supplied ONS projection (published SNPP layout) drives the forecast's population."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendcast.model.api import forecast, load_projection

pytestmark = pytest.mark.usefixtures("embedded_store")


def _snpp(path: Path, per_age: float, growth: float = 0.0) -> Path:
    years = list(range(2022, 2036))
    head = '"AREA_CODE","AREA_NAME","COMPONENT","SEX","AGE_GROUP",' + ",".join(f'"{y}"' for y in years)
    rows = [head]
    for age in [*map(str, range(0, 90)), "90 and over"]:
        vals = ",".join(f"{per_age * (1 + growth) ** (y - 2022):.1f}" for y in years)
        rows.append(f'"E10000020","Norfolk","Population","persons","{age}",{vals}')
    path.write_text("\n".join(rows) + "\n")
    return path


def test_projection_is_read_onto_current_councils(tmp_path: Path) -> None:
    proj = load_projection(_snpp(tmp_path / "snpp.csv", 9000.0))
    assert set(proj["la_code"]) == {"E10000020"}
    assert proj["age"].between(0, 25).all() and (proj["population"] == 9000.0).all()


def test_a_growing_projected_population_raises_the_forecast(tmp_path: Path) -> None:
    # The incidence level is estimated against the population at the origin, so what moves the
    # forecast is the population's change: a projection growing 5% a year gives more joiners
    # in later years than a flat one, so plans five years on are higher on the same draws.
    low = forecast("Norfolk", horizon=5, draws=100, seed=3, population_projection=_snpp(tmp_path / "a.csv", 9000.0))
    high = forecast(
        "Norfolk", horizon=5, draws=100, seed=3, population_projection=_snpp(tmp_path / "b.csv", 9000.0, 0.05)
    )

    def last(res):  # type: ignore[no-untyped-def]
        s = res.summary
        return s[(s["measure"] == "ehcp_total") & (s["year"] == s["year"].max())]["mean"].iloc[0]

    assert last(high) > last(low)
