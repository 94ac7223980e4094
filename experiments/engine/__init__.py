"""The engine that runs models for every study: it imports `sim` and no other experiments/."""
