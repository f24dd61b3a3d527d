"""The serving service's handler table."""

from __future__ import annotations

from regista.services.serving import charts, containers

HANDLERS = {
    "register_container": containers.register_container,
    "unregister_container": containers.unregister_container,
    "container_status_report": containers.container_status_report,
    "get_endpoints": containers.get_endpoints,
    "get_loading_instances": containers.get_loading_instances,
    "get_endpoint_details": containers.get_endpoint_details,
    "get_endpoint_metrics_history": charts.get_endpoint_metrics_history,
}
