"""Python flows for tests/integration/test_python_flows.py, run by
Prefect's own engine in a pool pfagent serves, and for test_ui.py, run by
Prefect's own process worker."""

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact


@flow(name="py-fails")
def fails():
    raise ValueError("the Python flow failed on purpose")


# The Python twin of a pfagent pipeline run for the UI test
# (tests/integration/test_ui.py): task runs extract, normalize and load,
# log lines, and a table artifact of the rows loaded.
CURRENCIES = {"EUR": "Euro", "GBP": "British Pound Sterling",
              "USD": "United States Dollar"}


@task(name="extract")
def extract():
    rows = [{"code": c, "name": n} for c, n in CURRENCIES.items()]
    get_run_logger().info(f"Extracted {len(rows)} currencies")
    return rows


@task(name="normalize")
def normalize(rows):
    get_run_logger().info(f"Normalized {len(rows)} rows into 1 table")
    return {"currencies": rows}


@task(name="load")
def load(tables):
    counts = [{"table_name": t, "row_count": len(rows)}
              for t, rows in tables.items()]
    create_table_artifact(key="py-currencies-load", table=counts,
                          description="Rows loaded by the Python twin")
    get_run_logger().info(f"Loaded {sum(c['row_count'] for c in counts)} "
                          f"rows")


@flow(name="py-currencies")
def currencies():
    load(normalize(extract()))
