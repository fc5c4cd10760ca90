"""pfagent at scale on a PostgreSQL-backed Prefect server (issue 20).

Five agents on one pool take RUNS runs each of tests/flows/touch.c, whose
side effect (the run's id appended to a shared file) counts how often each
run really executed. The server (conftest.pg_prefect_server) orchestrates
as in production: the scheduler and late-runs services run, so the backlog
turns Late while it waits and the agents must still take it.

Sizes: 5 x 200 in make test; 5 x 2,000 (10,000 runs) only under
`make scale` (pytest -m scale), which also writes the figures to
docs/benchmarks.md (scripts/scale).

The agents are the -O2 build (build/pfagent), as in make bench: this test
measures memory, and ASan's quarantine of freed memory (256 MiB) grows an
ASan build's resident set by design. The sanitizer build runs the 3 x 300
exactly-once test in test_worker_core.py.
"""

import collections
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from peers.prefect import REPO_ROOT, TERMINAL

AGENTS = 5
LIMIT = 4
PLAIN = REPO_ROOT / os.environ.get("PFAGENT_SCALE_BINARY", "build/pfagent")
LINE = 37        # a run id and a newline: one line of the touched file
# Growth of an agent's resident set allowed between the first and the last
# window of runs: a leak of 1 KiB a run is 2 MiB over 2,000 runs.
RSS_SLACK_KIB = 1024
NO_PROGRESS = 300  # seconds without a run completing: the rest are stuck
# The full size (make scale); scripts/scale --runs-per-agent sets another.
FULL = int(os.environ.get("PFAGENT_SCALE_RUNS_PER_AGENT", "2000"))


def parse_ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class RssSampler(threading.Thread):
    """Every 0.5 s: runs executed so far (lines in the touched file) and
    each agent's VmRSS, so memory can be read against runs done."""

    def __init__(self, agents, touched):
        super().__init__(daemon=True)
        self.agents, self.touched = agents, touched
        self.samples = []  # (runs executed, [KiB per agent])
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.5):
            self.sample()

    def sample(self):
        try:
            n = self.touched.stat().st_size // LINE
        except FileNotFoundError:
            n = 0
        try:
            rss = [vmrss_kib(a.proc.pid) for a in self.agents]
        except OSError:
            return  # an agent exited: the waiting loop reports it
        self.samples.append((n, rss))

    def stop(self):
        self.done.set()
        self.join()
        self.sample()

    def window(self, lo, hi):
        """Per agent, the largest RSS seen while lo <= runs done < hi."""
        rows = [rss for n, rss in self.samples if lo <= n < hi]
        assert rows, f"no memory sample between {lo} and {hi} runs"
        return [max(col) for col in zip(*rows)]


def wait_all_completed(client, dep_id, total, touched, agents):
    """Polls until every run is Completed; fails at once on a run that
    failed, crashed or was cancelled, or an agent holding more than its
    limit, and after NO_PROGRESS seconds without a completion."""
    last, last_change = -1, time.monotonic()
    while True:
        for a in agents:
            a.assert_alive("during the scale run")
        bad = client.filter_runs(dep_id, ["FAILED", "CRASHED", "CANCELLED",
                                          "CANCELLING"], limit=20)
        assert not bad, [(r["id"], r["state_name"], r["state"]["message"])
                         for r in bad]
        flight = client.filter_runs(dep_id, ["PENDING", "RUNNING"])
        per_worker = collections.Counter(
            (r.get("labels") or {}).get("prefect.worker.name")
            for r in flight)
        per_worker.pop(None, None)  # claimed, labels not written yet
        assert max(per_worker.values(), default=0) <= LIMIT, \
            f"runs in flight per worker with --limit {LIMIT}: {per_worker}"
        done = client.count_runs(dep_id, ["COMPLETED"])
        if done == total:
            return
        executed = touched.stat().st_size // LINE if touched.exists() else 0
        if done + executed != last:
            last, last_change = done + executed, time.monotonic()
        assert time.monotonic() - last_change < NO_PROGRESS, \
            (f"no run completed for {NO_PROGRESS} s: {done} of {total} "
             f"Completed, {executed} executed, in flight {per_worker}")
        time.sleep(2)


def create_runs(client, dep_id, n, key):
    def create(i):
        return client.create_flow_run(
            dep_id, idempotency_key=f"{key}-{i}")["id"]

    with ThreadPoolExecutor(max_workers=4) as executor:
        ids = list(executor.map(create, range(n)))
    assert len(set(ids)) == n
    return ids


def histories(client, runs):
    """(run, [state types], [state names], id of the last state)."""
    def one(run):
        states = client.read_states(run["id"])
        return (run, [s["type"] for s in states],
                [s["name"] for s in states], states[-1]["id"])

    with ThreadPoolExecutor(max_workers=4) as executor:
        return list(executor.map(one, runs))


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@pytest.mark.parametrize("runs_per_agent", [
    200, pytest.param(FULL, marks=pytest.mark.scale)])
def test_five_agents_run_each_run_exactly_once(pg_client, pg_prefect_server,
                                               agent, pool_name, tmp_path,
                                               process_job_template,
                                               runs_per_agent):
    """(slow) 5 agents with --limit 4 on one pool of a PostgreSQL-backed,
    production-strict server take 5 x N runs created before they start:
    each run executes exactly once (its id once in the shared file,
    run_count 1, one Running in its history, which ends in its current
    state), none is left stuck or fails, and no agent's resident memory
    grows from the first window of runs (a thousand, or a fifth of a
    smaller test) to the last by more than RSS_SLACK_KIB."""
    client, total = pg_client, AGENTS * runs_per_agent
    window = min(1000, total // 5)
    assert PLAIN.exists(), f"{PLAIN} not found: run make first"
    touched = tmp_path / "touched.txt"
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = client.create_deployment(pool_name, "tests/flows/touch.c:touch",
                                   parameters={"path": str(touched)})
    t_create = time.monotonic()
    ids = create_runs(client, dep["id"], total, pool_name)
    create_s = time.monotonic() - t_create
    load_before = loadavg()

    agents = [agent(pool_name, "--limit", LIMIT, binary=PLAIN,
                    api_url=pg_prefect_server.api_url)
              for _ in range(AGENTS)]
    sampler = RssSampler(agents, touched)
    sampler.start()
    try:
        wait_all_completed(client, dep["id"], total, touched, agents)
    finally:
        sampler.stop()
    load_after = loadavg()

    runs = client.read_flow_runs(ids)
    assert len(runs) == total
    stuck = [(r["id"], r["state_name"]) for r in runs
             if r["state_type"] not in TERMINAL]
    assert stuck == []
    assert {r["state_type"] for r in runs} == {"COMPLETED"}
    assert [r["id"] for r in runs if r["run_count"] != 1] == []

    lines = collections.Counter(touched.read_text().splitlines())
    twice = [i for i, n in lines.items() if n != 1]
    assert set(lines) == set(ids)
    assert twice == []

    hist = histories(client, runs)
    assert [(r["id"], types) for r, types, _, _ in hist
            if types.count("RUNNING") != 1] == []
    assert [(r["id"], types) for r, types, _, last in hist
            if r["state"]["id"] != last] == []
    late = sum(1 for _, _, names, _ in hist if "Late" in names)

    first = min(parse_ts(r["start_time"]) for r in runs)
    last = max(parse_ts(r["end_time"]) for r in runs)
    rss_first = sampler.window(0, window)
    rss_last = sampler.window(total - window, total + 1)
    per_agent = collections.Counter(
        (r.get("labels") or {}).get("prefect.worker.name") for r in runs)
    figures = {
        "agents": AGENTS, "limit": LIMIT, "runs": total, "window": window,
        "runs_per_min": total / (last - first) * 60,
        "span_s": last - first, "create_s": create_s,
        "rss_first_kib": rss_first, "rss_last_kib": rss_last,
        "executed_twice": len(twice), "stuck": len(stuck), "late": late,
        "per_agent": sorted(per_agent.values()),
        "loadavg": [load_before, load_after],
    }
    print("\nscale figures: " + json.dumps(figures))
    if os.environ.get("PFAGENT_SCALE_OUT"):
        Path(os.environ["PFAGENT_SCALE_OUT"]).write_text(
            json.dumps(figures, indent=1))
    grew = [(a.name, f, l) for a, f, l in zip(agents, rss_first, rss_last)
            if l > f + RSS_SLACK_KIB]
    assert grew == [], \
        f"resident memory (KiB) grew from the first {window} runs to the " \
        f"last: {grew}"
