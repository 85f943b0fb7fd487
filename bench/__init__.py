"""Orchestrator's benchmark: our server against Prefect's own, on the same work, side by side.

    .venv/bin/python -m bench                       # every scenario, both servers, SQLite and PostgreSQL
    .venv/bin/python -m bench --scale 0.25 --backends postgres --scenarios api_runs,reads
    .venv/bin/python -m bench.scale --runs 10000 1000000   # reads at 10k and 1M flow runs

The tool starts each server itself (ours from this checkout, Prefect's from `.venv-prefect`), each
on a fresh database, drives it over its public HTTP API (and, for `flows`, with the real Prefect
client), and prints one table per database backend with each scenario's headline figure for both
servers and the ratio. Raw results are written as JSON. The README's "Benchmarks" section explains
what is measured and how to read it.

Nothing here imports the server: both servers are black boxes behind 127.0.0.1, which is what
keeps the comparison fair and lets this package run without Django settings (only `bench.scale`,
which writes our tables directly, sets Django up to read the models).
"""
