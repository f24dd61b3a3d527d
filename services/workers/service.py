"""The workers service's handler table, gathered from its modules."""

from __future__ import annotations

from regista.services.workers import handlers, stats

HANDLERS = {**handlers.HANDLERS, **stats.HANDLERS}
