"""The studies: each runs its tasks through engine/, analyses and reports; none imports another."""
