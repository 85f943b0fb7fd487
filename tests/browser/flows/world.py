"""The runs the browser tests look at, made by the real Prefect client: a flow with submitted
and mapped tasks, log lines and artifacts, and a flow that fails. Prints one JSON line
`RESULT {...}` naming each flow run."""

import json

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact


@task
def extract(n: int) -> list[int]:
    get_run_logger().info("extracted %d rows", n)
    return list(range(n))


@task
def square(x: int) -> int:
    return x * x


@flow(name="nightly-etl", log_prints=True)
def nightly_etl(n: int = 4) -> int:
    rows = extract.submit(n).result()
    squares = square.map(rows).result()
    total = sum(squares)
    print(f"loaded {len(squares)} rows, total {total}")
    get_run_logger().warning("row 3 looked odd")
    create_markdown_artifact(key="etl-report", markdown=f"# ETL report\n\nTotal: **{total}**", description="nightly")
    create_table_artifact(key="etl-rows", table=[{"x": x, "square": s} for x, s in zip(rows, squares, strict=True)])
    return total


@flow(name="broken-import")
def broken_import() -> None:
    raise ValueError("the source file is missing")


def run_id(state) -> str:
    return str(state.state_details.flow_run_id)


if __name__ == "__main__":
    runs = {}
    state = nightly_etl(return_state=True)
    assert state.is_completed() and state.result() == 14, state
    runs["etl"] = run_id(state)
    state = broken_import(return_state=True)
    assert state.is_failed(), state
    runs["broken"] = run_id(state)
    print("RESULT " + json.dumps(runs), flush=True)
