"""Tasks. The document and the status rules the models service needs; the service comes later."""
