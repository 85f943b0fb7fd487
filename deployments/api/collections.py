"""/api/collections/views/{view}: the catalog of worker types the CLI offers when creating a
work pool. Each entry names a type; its job template comes from the worker's own package."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import NotFound


def _worker(type_: str, name: str, description: str, package: str) -> dict:
    return {
        "type": type_,
        "display_name": name,
        "description": description,
        "documentation_url": None,
        "install_command": f"pip install {package}",
        "logo_url": None,
        "is_beta": False,
        "default_base_job_configuration": {"job_configuration": {}, "variables": {"properties": {}, "type": "object"}},
    }


WORKER_CATALOG = {
    "prefect": {
        "process": _worker("process", "Process", "Runs each flow run as a subprocess of the worker.", "prefect"),
    },
    "prefect-docker": {
        "docker": _worker("docker", "Docker", "Runs each flow run in its own Docker container.", "prefect-docker"),
    },
    "prefect-kubernetes": {
        "kubernetes": _worker(
            "kubernetes", "Kubernetes", "Runs each flow run as a Kubernetes job.", "prefect-kubernetes"
        ),
    },
}

VIEWS = {"aggregate-worker-metadata": WORKER_CATALOG}


class CollectionView(APIView):
    def get(self, request, view=None):
        if view not in VIEWS:
            raise NotFound(f"View {view} not found in registry")
        return Response(VIEWS[view])
