"""A new web worker is made ready before it takes its first request.

`make run` starts gunicorn without `--preload`: each worker builds the app after the
fork, and then knows nothing yet. Left to the first request, a new worker built the
embedded store's in-process index (3.6 s at 110,000 records), compiled the page
templates (0.1 to 0.3 s) and read the dictionary, in the request of whichever user reached it first.
`gunicorn.conf.py` calls `warm_up(app)` once per worker, after the fork and before it
serves; never `create_app()`, which tests and commands call many times.
"""

from __future__ import annotations

import logging
import time
import typing as t

from flask import Flask

from . import dictionary, store

log = logging.getLogger(__name__)


def warm_up(app: Flask, between: t.Callable[[], object] | None = None) -> dict[str, t.Any]:
    """Build the store's in-process indexes, read the dictionary and compile every
    template; what was done (the documents indexed per collection, the templates
    compiled, the seconds). `between` is called now and then (gunicorn's worker says it
    is alive: its arbiter stops a worker silent for longer than its timeout)."""
    started = time.perf_counter()
    with app.app_context():
        # The process's snapshot of the dictionary, read once, first: a store older than
        # a kind of definition (conditional rules) gets its collection here, so that
        # the warming below indexes it too.
        dictionary.latest()
        indexed = store.warm(between)
    templates = app.jinja_env.list_templates()
    for name in templates:
        app.jinja_env.get_template(name)
    done = {"indexed": indexed, "templates": len(templates),
            "seconds": round(time.perf_counter() - started, 2)}
    log.info("worker ready: %d documents indexed, %d templates compiled, in %.1f s",
             sum(indexed.values()), len(templates), done["seconds"])
    return done
