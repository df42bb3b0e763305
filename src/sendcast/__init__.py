"""sendcast: forecasts of EHC plans, their cost and the high-needs budget for English councils."""

__version__ = "0.1.0"

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
