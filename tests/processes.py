"""Processes of the app on one embedded store, started together, for the rules that must
hold between workers with no lock: each process connects first, then all begin at one
signal, so their writes race as two web workers' would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

# Put before a script's own code: `ARGS` are its arguments, `app` its app on the store,
# and `start_together()` returns once every process is ready.
PRELUDE = """
import os, sys, time
from admin_app import create_app

*ARGS, _READY, _GO = sys.argv[1:]
app = create_app()


def start_together():
    open(_READY, "w").close()
    while not os.path.exists(_GO):
        time.sleep(0.002)
"""


def at_once(app, script: str, arguments: list[list[str]], **settings: str) -> list[str]:
    """Run PRELUDE + `script` in one process per entry of `arguments` (its ARGS) on
    `app`'s embedded store, with `settings` in the environment; each process's output,
    once every one has exited 0."""
    folder = Path(app.instance_path)
    go = folder / "go"
    ready = [folder / f"ready-{n}" for n in range(len(arguments))]
    env = {**os.environ, "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "test", **settings}
    env.pop("MONGODB_URI", None)
    processes = [subprocess.Popen([sys.executable, "-c", PRELUDE + script, *args, str(path)
                                   , str(go)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for args, path in zip(arguments, ready, strict=True)]
    try:
        deadline = time.monotonic() + 90
        while not all(path.exists() for path in ready):
            assert time.monotonic() < deadline, "the processes did not start"
            assert all(p.poll() is None for p in processes), \
                [p.communicate()[0] for p in processes]
            time.sleep(0.01)
        go.touch()
        outputs = [process.communicate(timeout=60)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        go.unlink(missing_ok=True)
        for path in ready:
            path.unlink(missing_ok=True)
    assert [p.returncode for p in processes] == [0] * len(processes), outputs
    return outputs
