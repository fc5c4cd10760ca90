"""The Python twin of flows/hello.c, for `make bench` (scripts/bench):
the same flow name, parameters and log line, run by Prefect's own
process worker through `python -m prefect.engine`.
Entrypoint: bench/hello_flow.py:hello."""

import time

from prefect import flow, get_run_logger


@flow(name="hello",
      description="Says hello to someone, optionally after a nap.")
def hello(name: str = "world", sleep_seconds: int = 0):
    if sleep_seconds > 0:
        time.sleep(sleep_seconds)
    get_run_logger().info("Hello, %s!", name)
