"""gunicorn settings for `make run` and the Procfile (both pass `--config gunicorn.conf.py`).

Each worker builds the app after the fork (no `--preload`: the embedded store's SQLite
handles must be opened in the process that uses them). Before a worker takes its first
request it warms up (`admin_app.warmup`): the embedded store's in-process indexes, the
dictionary and the page templates, so no user's request waits for them.
"""

from __future__ import annotations

import typing as t


def post_worker_init(worker: t.Any) -> None:
    """Called by gunicorn in each new worker, after it has loaded the app and before it
    accepts a connection."""
    from admin_app.warmup import warm_up

    done = warm_up(worker.wsgi, between=worker.notify)
    indexed = done["indexed"]
    worker.log.info("Worker %s ready: %d documents indexed in %d collections (%s), "
                    "%d templates compiled, in %.1f s", worker.pid, sum(indexed.values()),
                    len(indexed), ", ".join(f"{name} {count}" for name, count in indexed.items()),
                    done["templates"], done["seconds"])
