"""Outputs: files, charts, reports and run metadata. Reads results; never re-runs the model."""
