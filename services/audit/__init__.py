"""The audit log: who changed users, credentials, roles and companies, and who deleted what."""
