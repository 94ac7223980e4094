"""Labels, figures and report documents: import analysis/ (and engine/io.py, atomic writes)."""
