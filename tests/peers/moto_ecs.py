"""moto's ECS, EC2 and IAM in this process (moto.server.ThreadedMotoServer),
with signature checking on, plus the ECS container agent the tests play.

moto runs no containers. ContainerAgent reads each started task's
overrides (its containerOverrides: command and environment, what ECS's
agent would give the container), runs that command here (`pfagent` maps
to a pfagent binary), and moves the task to STOPPED with the process's
exit code. Being in-process lets it set what moto's API cannot:
a container's exit code and reason, the task's stopCode, PROVISIONING.

Workarounds for moto only (real ECS does these itself):
  - ecs::task's state transition is made manual and never advancing
    (moto's default, "immediate", reports every task STOPPED at once);
  - a Fargate task definition with task-level memory only is accepted
    at RunTask (moto sums container memory and fails on None);
  - StopTask leaves a task whose command still runs in STOPPING until
    the agent has stopped the command, as ECS does (moto jumps to STOPPED).
Every ECS request's body is recorded (calls), for field-by-field checks.
"""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from moto.ecs import models as ecs_models
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api import state_manager
from moto.server import ThreadedMotoServer

from peers.moto import MotoClients

REGION = "us-east-1"
ACCOUNT = "123456789012"
RECORDED = ("RegisterTaskDefinition", "RunTask", "StopTask",
            "DescribeTasks", "DescribeTaskDefinition")


_current = []       # the running EcsPeer (moto's backends are global)


def _patch():
    """Once per process: records ECS requests, moto's workarounds."""
    for action in RECORDED:
        method = "".join("_" + c.lower() if c.isupper() else c
                         for c in action).lstrip("_")
        orig = getattr(EC2ContainerServiceResponse, method)

        def wrapped(resp, _orig=orig, _action=action):
            for peer in _current:
                with peer.lock:
                    peer.calls.append((_action, json.loads(resp.body or
                                                           "{}")))
                    peer.times.append((_action, time.time()))
            return _orig(resp)
        setattr(EC2ContainerServiceResponse, method, wrapped)
    orig_stop = ecs_models.EC2ContainerServiceBackend.stop_task

    def stop_task(backend, cluster_str, task_str, reason):
        task = orig_stop(backend, cluster_str, task_str, reason)
        for peer in _current:
            if peer.on_stop is not None:
                peer.on_stop(task)
        return task
    ecs_models.EC2ContainerServiceBackend.stop_task = stop_task
    orig_run = ecs_models.EC2ContainerServiceBackend.run_task

    def run_task(backend, *args, **kwargs):
        """A task's first status set before RunTask answers, as ECS's
        own (PROVISIONING) is: no DescribeTasks can see moto's RUNNING
        first."""
        tasks = orig_run(backend, *args, **kwargs)
        for peer in _current:
            if peer.on_run is not None:
                for task in tasks:
                    peer.on_run(task)
        return tasks
    ecs_models.EC2ContainerServiceBackend.run_task = run_task
    backend_cls = ecs_models.EC2ContainerServiceBackend
    orig_req = backend_cls._calculate_task_resource_requirements

    def requirements(task_definition):
        missing = [c for c in task_definition.container_definitions
                   if c.get("memory") is None and
                   c.get("memoryReservation") is None and
                   "Memory" not in c and "MemoryReservation" not in c]
        for c in missing:
            c["memory"] = 0
        try:
            return orig_req(task_definition)
        finally:
            for c in missing:
                del c["memory"]
    backend_cls._calculate_task_resource_requirements = \
        staticmethod(requirements)


class EcsPeer(MotoClients):
    def __init__(self, port):
        self.port = port
        self.calls = []          # (action, request body), in order
        self.times = []          # (action, time.time() it arrived)
        self.lock = threading.Lock()
        self.on_stop = None      # called with a task StopTask reached
        self.on_run = None       # called with each task RunTask made
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port,
                                         verbose=False)
        if not getattr(EC2ContainerServiceResponse, "_pf_patched", False):
            _patch()
            EC2ContainerServiceResponse._pf_patched = True

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.server.start()
        _current[:] = [self]
        import urllib.request
        req = urllib.request.Request(self.url + "/moto-api/reset", data=b"",
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        state_manager.set_transition(
            "ecs::task", {"progression": "manual", "times": 10 ** 9})
        return self

    def stop(self):
        from moto import settings
        settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        state_manager.unset_transition("ecs::task")
        _current[:] = []
        self.server.stop()

    def enable_auth(self):
        import urllib.request
        req = urllib.request.Request(self.url + "/moto-api/reset-auth",
                                     data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    @property
    def backend(self):
        return ecs_models.ecs_backends[ACCOUNT][REGION]

    def tasks(self):
        out = []
        for cluster_tasks in list(self.backend.tasks.values()):
            out.extend(list(cluster_tasks.values()))
        return out

    def recorded(self, action):
        with self.lock:
            return [body for a, body in self.calls if a == action]


def set_stopped(task, exit_code, stop_code="EssentialContainerExited",
                stopped_reason="Essential container in task exited",
                reason=None):
    """What ECS reports once a task's essential container has exited."""
    task.stop_code = stop_code
    task.stopped_reason = stopped_reason
    task.desired_status = "STOPPED"
    for c in task.containers:
        c.exitCode = exit_code
        c.last_status = "STOPPED"
        if reason is not None:
            c.reason = reason
    task.last_status = "STOPPED"


class ContainerAgent:
    """Plays ECS's container agent for the tasks moto starts.

    decide(task, env) -> "run" (default), or "hold" (left RUNNING, the
    command not run, until release()), or a callable(task) that sets the
    task's fate itself.

    output(task, text), if given, gets a played command's output (stdout
    and stderr) once it has exited, before the task becomes STOPPED: what
    a log driver would have shipped by then.
    """

    def __init__(self, peer, binary, cwd, base_env, decide=None,
                 max_running=4, output=None, initial=None):
        self.peer = peer
        self.binary = str(binary)
        self.cwd = str(cwd)
        self.base_env = base_env
        self.decide = decide or (lambda task, env: "run")
        self.output = output
        self.seen = set()
        self.held = {}
        self.procs = {}
        self.played = []             # (task arn, argv, env)
        self.slots = threading.Semaphore(max_running)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        peer.on_stop = self._on_stop
        # initial(task, env) sets a task's status inside RunTask.
        if initial is not None:
            peer.on_run = lambda task: initial(task, self.overrides(task)[1])

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.peer.on_run = None
        self.stop_event.set()
        self.thread.join(10)
        for p in list(self.procs.values()):
            if p.poll() is None:
                p.kill()

    @staticmethod
    def overrides(task):
        ov = (task.overrides or {}).get("containerOverrides") or [{}]
        env = {e["name"]: e["value"] for e in ov[0].get("environment", [])}
        return ov[0].get("command") or [], env

    def _on_stop(self, task):
        # ECS: STOPPING while the container is told to stop.
        p = self.procs.get(task.task_arn)
        if p is not None and p.poll() is None:
            task.last_status = "STOPPING"
            p.send_signal(signal.SIGTERM)
        elif task.task_arn in self.held:
            self.held.pop(task.task_arn)
            set_stopped(task, 143, "UserInitiated", task.stopped_reason)

    def release(self, fate):
        """fate(task) for every held task."""
        for arn, task in list(self.held.items()):
            self.held.pop(arn)
            fate(task)

    def _loop(self):
        while not self.stop_event.wait(0.1):
            for task in self.peer.tasks():
                arn = task.task_arn
                if arn in self.seen:
                    continue
                self.seen.add(arn)
                argv, env = self.overrides(task)
                what = self.decide(task, env)
                if what == "hold":
                    self.held[arn] = task
                elif callable(what):
                    what(task)
                else:
                    threading.Thread(target=self._play,
                                     args=(task, argv, env),
                                     daemon=True).start()

    def _play(self, task, argv, env):
        with self.slots:
            argv = list(argv)
            if argv and argv[0] == "pfagent":
                argv[0] = self.binary
            full = dict(self.base_env)
            full.update(env)
            self.played.append((task.task_arn, argv, env))
            out = subprocess.PIPE if self.output else subprocess.DEVNULL
            try:
                p = subprocess.Popen(argv, cwd=self.cwd, env=full,
                                     stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT)
            except OSError:
                set_stopped(task, 127, reason="CannotStartContainerError")
                return
            self.procs[task.task_arn] = p
            text = p.communicate()[0]
            rc = p.returncode
            if self.output:
                self.output(task, text.decode(errors="replace"))
            if task.desired_status == "STOPPED":
                set_stopped(task, rc if rc >= 0 else 128 - rc,
                            "UserInitiated", task.stopped_reason)
            else:
                set_stopped(task, rc if rc >= 0 else 128 - rc)


def plain_env():
    """The environment of a played container: no Prefect or AWS settings
    of the test process."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PREFECT_", "AWS_", "PFAGENT_"))}


REPO = Path(__file__).resolve().parents[2]
