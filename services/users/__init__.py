"""The users service (schema/services/users.conf): the users of the caller's company and their preferences."""

from regista.services.users import handlers, preferences

HANDLERS = {
    "get_current_user": handlers.get_current_user,
    "get_by_id": handlers.get_by_id,
    "get_all": handlers.get_all,
    "get_all_ex": handlers.get_all_ex,
    "update": handlers.update,
    "delete": handlers.delete,
    "get_preferences": preferences.get_preferences,
    "set_preferences": preferences.set_preferences,
}
