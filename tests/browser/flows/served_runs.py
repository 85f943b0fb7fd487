"""Deployments the runs pages' browser tests drive, served by one process as a user serves
them (`prefect.serve`): `chatty/live` logs a line every `interval` seconds, `sleeper/long`
sleeps until it is cancelled."""

import time

from prefect import flow, get_run_logger, serve, task


@task
def warm_up() -> str:
    return "warm"


@flow(name="chatty")
def chatty(lines: int = 10, interval: float = 1.0) -> int:
    logger = get_run_logger()
    warm_up()
    for i in range(1, lines + 1):
        logger.info("tick %d of %d", i, lines)
        time.sleep(interval)
    return lines


@flow(name="sleeper")
def sleeper(seconds: float = 600) -> None:
    get_run_logger().info("going to sleep for %s seconds", seconds)
    time.sleep(seconds)


if __name__ == "__main__":
    serve(chatty.to_deployment(name="live"), sleeper.to_deployment(name="long"))
