"""Orchestrator: a self-hosted orchestration server for the Prefect 3 SDK."""
