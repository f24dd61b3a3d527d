"""Package data: HOCON files read with importlib.resources (see regista.server.config.package_data)."""
