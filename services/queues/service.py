"""The queues service's handler table, gathered from its modules."""

from __future__ import annotations

from regista.services.queues import handlers, metrics, operations

HANDLERS = {
    "create": handlers.create, "get_by_id": handlers.get_by_id, "get_all": handlers.get_all,
    "get_all_ex": handlers.get_all_ex, "get_default": handlers.get_default, "update": handlers.update,
    "delete": handlers.delete, "add_or_update_metadata": handlers.add_or_update_metadata,
    "delete_metadata": handlers.delete_metadata, "add_task": operations.add_task,
    "remove_task": operations.remove_task, "clear_queue": operations.clear_queue,
    "get_next_task": operations.get_next_task, "peek_task": operations.peek_task,
    "get_num_entries": operations.get_num_entries, "move_task_forward": operations.move_task_forward,
    "move_task_backward": operations.move_task_backward, "move_task_to_front": operations.move_task_to_front,
    "move_task_to_back": operations.move_task_to_back, "get_queue_metrics": metrics.get_queue_metrics,
}  # fmt: skip
