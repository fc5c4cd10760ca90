"""Python flows for tests/integration/test_python_flows.py, run by
Prefect's own engine in a pool pfagent serves."""

from prefect import flow


@flow(name="py-fails")
def fails():
    raise ValueError("the Python flow failed on purpose")
