"""The uncertainty analysis of a design: run it, analyse (`analysis.py`), report (`report.py`)."""
