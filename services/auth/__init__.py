"""The auth service (schema/services/auth.conf) and the identity store the engine authenticates with."""
