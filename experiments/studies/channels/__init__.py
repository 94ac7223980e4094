"""Small studies of a mechanism's channels, each one module."""
