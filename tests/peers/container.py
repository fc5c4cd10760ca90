"""pfagent's image (`make image`: build/pfagent-image.tar) run as a
container runtime runs it, where no Docker engine runs: the OCI archive
unpacked into a root file system layer by layer (whiteouts applied), and
the image's entrypoint started in PID and mount namespaces of its own
(util-linux unshare), so it is PID 1, as the image's user, in its working
directory, with its environment; /dev, a fresh /proc and the given binds
(a volume, a repository) mounted in. The network is the host's, as with
`docker run --network host` or ECS's host mode: loopback peers are
reachable. Root is needed (namespaces, mounts, the image's owners).

    img = Image("build/pfagent-image.tar")
    root = img.unpack(tmp / "rootfs")
    c = Container(img, root, ["--pool", "p"], env={...},
                  binds={"/var/lib/pfagent": state_dir}, log=tmp / "c.log")
    c.pid1              # host pid of the container's PID 1
    c.exec(["curl", ...])   # another process in it, as its user
    c.stop(120)         # SIGTERM to PID 1, as `docker stop -t 120`
"""

import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
from pathlib import Path

from peers.prefect import _die_with_parent


class Image:
    """An OCI archive's manifest, config and layers."""

    def __init__(self, archive):
        self.archive = Path(archive)
        with tarfile.open(self.archive) as t:
            index = json.loads(t.extractfile("index.json").read())
            self.manifest = json.loads(self._blob(
                t, index["manifests"][0]["digest"]))
            self.config = json.loads(self._blob(
                t, self.manifest["config"]["digest"]))
        c = self.config.get("config", {})
        self.env = dict(e.split("=", 1) for e in c.get("Env", []))
        self.user = c.get("User", "")
        self.workdir = c.get("WorkingDir") or "/"
        self.entrypoint = c.get("Entrypoint") or []
        self.cmd = c.get("Cmd") or []
        self.labels = c.get("Labels") or {}
        self.volumes = sorted(c.get("Volumes") or {})
        self.stop_signal = c.get("StopSignal")
        self.history = self.config.get("history", [])

    @staticmethod
    def _blob(t, digest):
        return t.extractfile("blobs/" + digest.replace(":", "/")).read()

    def layers(self):
        """Each layer's uncompressed tar stream, bytes, oldest first."""
        with tarfile.open(self.archive) as t:
            for layer in self.manifest["layers"]:
                data = self._blob(t, layer["digest"])
                yield gzip.decompress(data) if "gzip" in layer[
                    "mediaType"] else data

    def unpack(self, root):
        """The root file system at root (made empty first)."""
        root = Path(root)
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        for data in self.layers():
            _apply_layer(root, data)
        return root


def _apply_layer(root, data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t:
            path = root / m.name.lstrip("./")
            base = os.path.basename(m.name)
            if base == ".wh..wh..opq":		# opaque: lower content goes
                for child in path.parent.iterdir():
                    _remove(child)
                continue
            if base.startswith(".wh."):
                _remove(path.parent / base[len(".wh."):])
                continue
            # A file replacing a lower one (never written through a
            # symlink of the image, which may point anywhere on the host).
            if os.path.lexists(path) and not (m.isdir() and path.is_dir()
                                              and not path.is_symlink()):
                _remove(path)
            t.extract(m, root, numeric_owner=True)


def _remove(p):
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif os.path.lexists(p):
        p.unlink()


def user_ids(image, root):
    """(uid, gid, home) of the image's USER, from the root's passwd."""
    user, _, group = image.user.partition(":")
    with open(Path(root) / "etc" / "passwd") as f:
        for p in (line.rstrip("\n").split(":") for line in f):
            if len(p) > 5 and user in (p[0], p[2]):
                return int(p[2]), int(group or p[3]), p[5]
    return int(user or 0), int(group or 0), "/"


# Runs as PID 1 of the new namespaces (host tools, before the chroot).
_INIT = r'''
set -e
root=$1 uid=$2 gid=$3 wd=$4; shift 4
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
while [ "$1" != "--" ]; do
	mkdir -p "$root$1"; mount --bind "$2" "$root$1"; shift 2
done
shift
exec unshare --root="$root" --wd="$wd" --setuid="$uid" --setgid="$gid" \
	-- "$@"
'''


class Container:
    """The image's entrypoint + args running in root (see the module's
    docstring); its output (stdout and stderr) in log."""

    def __init__(self, image, root, args=None, env=None, binds=None,
                 log=None, entrypoint=None):
        self.image = image
        self.root = Path(root)
        self.uid, self.gid, home = user_ids(image, root)
        self.env = {**image.env, "HOME": home, **(env or {})}
        argv = (entrypoint or image.entrypoint) + list(
            image.cmd if args is None else args)
        bind_args = []
        for dst, src in (binds or {}).items():
            bind_args += [dst, str(src)]
        self.log_path = Path(log)
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--mount",
                 "--propagation", "private", "--kill-child",
                 "sh", "-c", _INIT, "init", str(self.root), str(self.uid),
                 str(self.gid), image.workdir, *bind_args, "--", *argv],
                env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    @property
    def pid1(self):
        """Host pid of the container's PID 1 (unshare's one child)."""
        path = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        try:
            with open(path) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def processes(self):
        """{pid in the container: /proc/<host pid>/status as a dict} of
        every process in the container's PID namespace (its Pid and PPid
        are the host's)."""
        pid1 = self.pid1
        if pid1 is None:
            return {}
        try:
            ns = os.readlink(f"/proc/{pid1}/ns/pid")
        except OSError:
            return {}
        out = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") != ns:
                    continue
                with open(f"/proc/{entry}/status") as f:
                    st = dict(line.rstrip("\n").split(":\t", 1)
                              for line in f if ":\t" in line)
            except OSError:
                continue
            out[int(st["NSpid"].split()[-1])] = st
        return out

    def exec(self, argv, timeout=60):
        """argv run in the container (its namespaces, its user, its
        environment), as `docker exec` or a health check does."""
        pid1 = self.pid1
        return subprocess.run(
            ["nsenter", "-t", str(pid1), "-m", "-p", "--",
             "unshare", "--root=" + str(self.root), "--wd=" +
             self.image.workdir, "--setuid", str(self.uid), "--setgid",
             str(self.gid), "--", *argv],
            env=self.env, capture_output=True, text=True, timeout=timeout)

    def assert_alive(self, when=""):
        """For wait_for's watch: fails once the container has exited."""
        if self.proc.poll() is not None:
            raise AssertionError(f"the container exited with "
                                 f"{self.proc.returncode} {when}; its "
                                 f"output:\n{self.log_text()[-4000:]}")

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def signal(self, sig):
        pid1 = self.pid1
        if pid1 is not None:
            os.kill(pid1, sig)

    def wait(self, timeout):
        return self.proc.wait(timeout)

    def stop(self, timeout):
        """SIGTERM to PID 1 (the image's STOPSIGNAL), SIGKILL after
        timeout s, as `docker stop` and ECS's stopTimeout; returns the
        exit status, or None when it had to be killed."""
        if self.proc.poll() is None:
            self.signal(getattr(signal, self.image.stop_signal or
                                "SIGTERM"))
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)	# the namespace goes with it
            self.proc.wait(30)
