"""Scenarios: validated, named, combinable YAML sets of levers on the model's rates and money.

- :mod:`~sendcast.scenarios.schema`: the file format and :func:`load_scenario`;
- :mod:`~sendcast.scenarios.levers`: how levers change the model's yearly rates;
- :mod:`~sendcast.scenarios.compare`: run scenarios on the same draws, add money, compare;
- :mod:`~sendcast.scenarios.realism`: each promise against what councils achieved;
- :mod:`~sendcast.scenarios.goalseek`: the lever size that balances the budget.
"""

from sendcast.scenarios.levers import ScenarioLevers, levers_for
from sendcast.scenarios.schema import BASELINE, Scenario, ScenarioError, load_scenario

__all__ = ["BASELINE", "Scenario", "ScenarioError", "ScenarioLevers", "levers_for", "load_scenario"]
