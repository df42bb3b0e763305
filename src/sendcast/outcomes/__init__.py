"""Outcomes beside spending: what the money bought for children, council by council.

Reads the store (published figures as tidy rows) and returns tidy tables; pages and files are
made by :mod:`sendcast.outputs.outcomes`. Entry points:

- :func:`~sendcast.outcomes.compute.all_councils`: every series for every council and year
  (``la_code, la_name, series, year, period, value, missing_reason, file``);
- :func:`~sendcast.outcomes.compute.council_outcomes`: one council's series beside its statistical
  neighbours' median and England, each row with its source and period;
- :func:`~sendcast.outcomes.compute.spend_attainment`: the spending-and-attainment comparison
  across councils (the kind of comparison the LGA-commissioned analysis made);
- :func:`~sendcast.outcomes.compute.reading`: the plain-language reading.
"""

from sendcast.outcomes.compute import (
    SERIES,
    OutcomeSeries,
    all_councils,
    council_outcomes,
    latest,
    reading,
    spend_attainment,
)

__all__ = ["SERIES", "OutcomeSeries", "all_councils", "council_outcomes", "latest", "reading", "spend_attainment"]
