"""The scalar store shared by the MLflow API and, later, ClearML-style events."""
