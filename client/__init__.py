"""A small Python client for Regista, driven by the same schema as the server.

    from regista.client import Client
    api = Client("http://127.0.0.1:8008", access_key, secret_key, api_version="2.13")
    models = api.models.get_all(project=[project_id], page=0, page_size=50)["models"]

Requests are validated locally against the schema of the version they will run at before they are
sent; failures raise RegistaError with the result code and subcode; an expired token is renewed once.
"""

from regista.client.api import Client, RegistaError

__all__ = ["Client", "RegistaError"]
