"""The tasks service's handler table, gathered from its modules."""

from __future__ import annotations

from regista.services.tasks import batch, cleanup, clone, handlers, importing, parameters, queueing

# queueing comes last: archiving and the _ex listings are queue-aware versions of the plain ones.
HANDLERS = {
    **handlers.HANDLERS, **parameters.HANDLERS, **cleanup.HANDLERS, **clone.HANDLERS, **batch.HANDLERS,
    **queueing.HANDLERS, "import": importing.import_task,
}  # fmt: skip
