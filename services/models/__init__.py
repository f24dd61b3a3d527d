"""The models service (schema/services/models.conf)."""

from regista.services.models import handlers, task_links

HANDLERS = {
    "get_by_id": handlers.get_by_id,
    "get_by_task_id": task_links.get_by_task_id,
    "get_all": handlers.get_all,
    "get_all_ex": handlers.get_all,
    "create": handlers.create,
    "edit": handlers.edit,
    "update": handlers.update,
    "update_for_task": task_links.update_for_task,
    "set_ready": task_links.set_ready,
    "delete": handlers.delete,
    "add_or_update_metadata": handlers.add_or_update_metadata,
    "delete_metadata": handlers.delete_metadata,
}
