"""The tasks service's handler table, gathered from its modules."""

from __future__ import annotations

from regista.services.tasks import batch, cleanup, clone, handlers, parameters

HANDLERS = {**handlers.HANDLERS, **parameters.HANDLERS, **cleanup.HANDLERS, **clone.HANDLERS, **batch.HANDLERS}
