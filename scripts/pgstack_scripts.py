"""Helpers shared by the Python scripts in scripts/ (standard library only).

Import it from a script in this directory (Python puts a script's directory on sys.path):
    from pgstack_scripts import ROOT, Log, free_ports, wait_for, run, write_secret
For the bash scripts:
    python3 scripts/pgstack_scripts.py free-ports N          N free ports (scripts/lib.sh)
    python3 scripts/pgstack_scripts.py requirements-met FILE exit 0 if FILE's pins are installed
"""
import importlib.metadata
import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root
SCRIPTS = ROOT / "scripts"


class Log:
    """`log = Log("testbed")`; `log("msg")` prints "testbed: msg" to stderr."""

    def __init__(self, name):
        self.name = name

    def __call__(self, msg):
        try:
            print(f"{self.name}: {msg}", file=sys.stderr, flush=True)
        except BrokenPipeError:  # a reader that went away must not stop the cleanup after it
            pass


def free_ports(count, low=20000, high=32000):
    """`count` distinct ports that 127.0.0.1 can bind now, at random below the Linux ephemeral
    range (so outgoing connections cannot take them) and above the well-known ones."""
    ports = []
    for _ in range(10000):
        if len(ports) == count:
            return ports
        port = random.randint(low, high)
        if port in ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    raise RuntimeError(f"no {count} free ports found on 127.0.0.1 in {low}-{high}")


def listening(port, host="127.0.0.1", timeout=1.0):
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(what, fn, timeout=60, interval=0.5):
    """Calls fn() until it returns something true, and returns that; an exception from fn
    (a server still starting refuses connections) counts as not yet. TimeoutError after
    `timeout` seconds, naming `what` and the last result."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 — kept for the message
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def wait_until(fn, timeout, interval=0.2):
    """wait_for as a bool: True once fn() is true, False after `timeout` seconds."""
    try:
        wait_for("", fn, timeout, interval)
        return True
    except TimeoutError:
        return False


def run(argv, *, check=True, capture=True, input=None, timeout=None, env=None, cwd=None):
    """subprocess.run on text, stdout and stderr captured unless capture=False; with check, a
    non-zero exit raises subprocess.CalledProcessError (whose .stderr says why)."""
    return subprocess.run([str(a) for a in argv], check=check, capture_output=capture, text=True,
                          input=input, timeout=timeout, env=env, cwd=cwd,
                          stdin=None if input is not None else subprocess.DEVNULL)


def output(argv, **kwargs):
    """What argv prints on stdout, stripped (run()'s keywords)."""
    return run(argv, **kwargs).stdout.strip()


def write_file(path, text, mode):
    """Writes `text` to `path` created or truncated with permissions `mode` (also when it existed
    with others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, mode)
        f.write(text)


def write_secret(path, text):
    """A file that holds a password or a DSN: mode 0600 from its creation on."""
    write_file(path, text, 0o600)


def requirements_met(requirements):
    """Every line of a requirements file is a `name==version` pin that is installed, so pip
    need not run (it takes seconds, and may be unable to write where a plain user runs it)."""
    for line in Path(requirements).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pin = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line)
        try:
            if not pin or importlib.metadata.version(pin.group(1)) != pin.group(2):
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "free-ports" and sys.argv[2].isdigit():
        print(" ".join(map(str, free_ports(int(sys.argv[2])))))
    elif len(sys.argv) == 3 and sys.argv[1] == "requirements-met":
        sys.exit(0 if requirements_met(sys.argv[2]) else 1)
    else:
        sys.exit("usage: pgstack_scripts.py free-ports N | requirements-met FILE")
