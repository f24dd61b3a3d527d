"""The schema engine: HOCON service files -> checked ApiSchema -> compiled validators."""
