"""Regista's engine: schema loading, version resolution, validation, dispatch, errors, config, database."""

__version__ = "0.1.0"
