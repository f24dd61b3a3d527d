"""Pieces every service uses: documents' base, tenancy scopes, listing queries, atomic updates."""
