"""Analyses of many runs: pure functions on tables, importing nothing else of experiments/."""
