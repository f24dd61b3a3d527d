"""MLflow's GraphQL API for its web UI: the schema it queries, resolved through the REST handlers."""
