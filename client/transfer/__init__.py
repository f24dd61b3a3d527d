"""Copying tracking data between servers over their APIs: `regista import` and `regista export`."""
