"""Projects. Only the document exists so far: models refer to projects; the service comes later."""
