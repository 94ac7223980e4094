"""The sweep of a named experiment: run.py, aggregate.py, report.py; headline.py does all three."""
