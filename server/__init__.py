"""Regista's engine: schema loading, version resolution, validation, dispatch, errors, config, database."""
