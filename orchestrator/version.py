"""Versions the server reports."""

# The Prefect server version we are compatible with; clients compare theirs against it
# (`GET /api/admin/version`) and refuse a different major version.
PREFECT_COMPATIBLE_VERSION = "3.8.8"
# The REST API version (`GET /api/version`), the X-PREFECT-API-VERSION the client sends.
API_VERSION = "0.8.4"
ORCHESTRATOR_VERSION = "0.1.0"
