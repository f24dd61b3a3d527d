"""The models service (schema/services/models.conf)."""

from regista.services.models import batch, handlers, importing, task_links

HANDLERS = {
    "get_by_id": handlers.get_by_id,
    "get_by_task_id": task_links.get_by_task_id,
    "get_all": handlers.get_all,
    "get_all_ex": handlers.get_all_ex,
    "get_by_id_ex": handlers.get_all_ex,
    "create": handlers.create,
    "edit": handlers.edit,
    "update": handlers.update,
    "update_for_task": task_links.update_for_task,
    "set_ready": task_links.set_ready,
    "delete": handlers.delete,
    "add_or_update_metadata": handlers.add_or_update_metadata,
    "delete_metadata": handlers.delete_metadata,
    "get_frameworks": batch.get_frameworks,
    "make_public": batch.make_public,
    "make_private": batch.make_private,
    "move": batch.move,
    "publish_many": batch.publish_many,
    "delete_many": batch.delete_many,
    "archive_many": batch.archive_many,
    "unarchive_many": batch.unarchive_many,
    "update_tags": batch.update_tags,
    "import": importing.import_model,
}
