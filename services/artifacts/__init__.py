"""Artifact files (MLflow's proxied artifact store), kept in a folder per company."""
