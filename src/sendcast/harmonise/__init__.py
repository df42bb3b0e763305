"""Harmonised, analysis-ready series built from the store's tidy observations."""
