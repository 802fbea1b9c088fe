"""Writers that race on one embedded store, for tests/test_races.py: people saving one
field through the real edit form (browsers against gunicorn), and commands run again
and again, each run a process of its own, as cron or an admin at a shell runs them.

Each browser saves only its own share of the records, one save at a time, so the value
it last saw answered "saved" (302 back to the edit page) is that record's last saved
value: no other browser's save can come after it. What races with the browsers is the
other writer (a seed load, a directory sync), which is what the tests are about.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import typing as t
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .helpers import form_values
from .servers import Browser


def environment(instance_path: str | Path) -> dict[str, str]:
    """The environment a command on the embedded store in `instance_path` runs with."""
    env = {**os.environ, "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test-secret"}
    env.pop("MONGODB_URI", None)
    return env


def flask(*args: str) -> list[str]:
    """`flask --app admin_app ARGS` as a command line."""
    return [sys.executable, "-m", "flask", "--app", "admin_app", *args]


class _Kept(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as it is (the 302 is what says "saved")."""

    def redirect_request(self, *args: t.Any, **kwargs: t.Any) -> None:
        return None


@dataclass
class FormSaves:
    """`browsers` people signed in to the admin on `base`, each saving `field` of its
    share of `records` (ids, round robin) `saves_each` times: open the edit page, type a
    new value (unique to the save), press Save, as a browser posts the form (its CSRF
    token and the hidden revision and opened values included).

    `saved` is each record's value of the last save answered 302 back to its edit page,
    `saves_of` how many such saves it had; `answers` counts every answer by status;
    `refused` keeps what any other answer said (its page). `undone` keeps each time the edit page
    did not show the value this browser saved last (nobody else writes `field`): a save
    answered "saved" was lost, even if a later save covered it."""

    base: str
    records: list[t.Any]
    field: str
    saves_each: int
    browsers: int = 3
    entity: str = "customer"
    saved: dict[t.Any, str] = field(default_factory=dict)
    saves_of: dict[t.Any, int] = field(default_factory=dict)  # saves answered "saved"
    answers: dict[int, int] = field(default_factory=dict)
    refused: list[tuple[t.Any, int, str]] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def made(self) -> int:
        """Saves answered "saved"."""
        return self.answers.get(302, 0)

    def start(self) -> FormSaves:
        for number in range(self.browsers):
            share = self.records[number::self.browsers]
            thread = threading.Thread(target=self._browse, args=(number, share), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def join(self, timeout: float = 600) -> None:
        for thread in self._threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self._threads), "the saves did not end"
        assert not self.errors, self.errors

    def _browse(self, number: int, share: list[t.Any]) -> None:
        try:
            browser = Browser(self.base)
            browser.login()
            jar = next(h.cookiejar for h in browser.opener.handlers
                       if isinstance(h, urllib.request.HTTPCookieProcessor))
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _Kept)
            for save in range(self.saves_each):
                record = share[save % len(share)]
                self._save(opener, record, f"Room {number}.{save}")
        except Exception as exc:  # reported by join(), in the test's thread
            self.errors.append(f"browser {number}: {type(exc).__name__}: {exc}")

    def _save(self, opener: t.Any, record: t.Any, value: str) -> None:
        url = f"{self.base}/admin/{self.entity}/edit/?id={record}"
        with opener.open(url, timeout=60) as page:
            values = form_values(page.read().decode())
        assert "_opened" in values and "csrf_token" in values, "the edit form was not shown"
        if record in self.saved and values.get(self.field) != self.saved[record]:
            with self._lock:
                self.undone.append(f"{record}: the form shows {values.get(self.field)!r} "
                                   f"after {self.saved[record]!r} was saved")
        values.update({self.field: value, "_continue_editing": "Save"})
        data = urllib.parse.urlencode(values).encode()
        try:
            with opener.open(url, data=data, timeout=60) as answer:
                status, body, target = answer.status, answer.read().decode(), ""
        except urllib.error.HTTPError as answer:
            status, body, target = answer.code, answer.read().decode(), \
                answer.headers.get("Location") or ""
        with self._lock:
            self.answers[status] = self.answers.get(status, 0) + 1
            if status == 302 and f"/admin/{self.entity}/edit/?id={record}" in target:
                self.saved[record] = value
                self.saves_of[record] = self.saves_of.get(record, 0) + 1
            else:
                self.refused.append((record, status, target or body))


@dataclass
class Repeated:
    """A command run again and again, each run a process of its own, from a thread: run
    `command(n)` for n = 0, 1, … until `stop()` has been called and at least `at_least`
    runs have ended. `runs` keeps each run's exit code and output, in order."""

    command: t.Callable[[int], list[str]]
    env: dict[str, str]
    at_least: int = 1
    runs: list[tuple[int, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Repeated:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Repeated:
        """Run no more than the run in progress (and any still owed to `at_least`)."""
        self._stop.set()
        return self

    def join(self, timeout: float = 600) -> list[tuple[int, str]]:
        """Wait for the last run to end; the runs."""
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the runs did not end"
        return self.runs

    def _loop(self) -> None:
        while not (self._stop.is_set() and len(self.runs) >= self.at_least):
            try:
                done = subprocess.run(self.command(len(self.runs)), env=self.env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, timeout=300, check=False)
            except subprocess.TimeoutExpired as late:
                self.runs.append((-1, f"killed after {late.timeout} s: {late.output or ''}"))
                continue
            self.runs.append((done.returncode, done.stdout))


@dataclass
class ApiPatches:
    """`clients` scripts on `base`, each changing `field` of its share of `records` (ids,
    round robin) `patches_each` times through the REST API, as a careful script does:
    read the record for its ETag, PATCH with If-Match, and on 412 (someone wrote in
    between) read again and retry. `saved` is each record's value of its last PATCH
    answered 200, `saves_of` how many it had; `retried` counts the 412s; `refused` keeps
    any other answer; `undone` each time a read did not show this script's last value
    (nobody else writes `field`)."""

    base: str
    token: str
    records: list[t.Any]
    field: str
    patches_each: int
    clients: int = 3
    saved: dict[t.Any, str] = field(default_factory=dict)
    saves_of: dict[t.Any, int] = field(default_factory=dict)
    retried: int = 0
    refused: list[tuple[t.Any, int, str]] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> ApiPatches:
        for number in range(self.clients):
            share = self.records[number::self.clients]
            thread = threading.Thread(target=self._run, args=(number, share), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def join(self, timeout: float = 600) -> None:
        for thread in self._threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self._threads), "the PATCHes did not end"
        assert not self.errors, self.errors

    def _call(self, method: str, record: t.Any, body: dict | None = None,
              tag: str = "") -> tuple[int, dict, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers.update({"Content-Type": "application/json", "If-Match": tag})
        request = urllib.request.Request(
            f"{self.base}/api/v1/customers/{record}", method=method, headers=headers,
            data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read()), answer.headers["ETag"]
        except urllib.error.HTTPError as answer:
            return answer.code, json.loads(answer.read() or b"{}"), ""

    def _run(self, number: int, share: list[t.Any]) -> None:
        try:
            for patch in range(self.patches_each):
                record, value = share[patch % len(share)], f"Api {number}.{patch}"
                for _attempt in range(50):
                    status, current, tag = self._call("GET", record)
                    assert status == 200, (status, current)
                    if record in self.saved and current.get(self.field) != self.saved[record]:
                        with self._lock:
                            self.undone.append(f"{record}: reads {current.get(self.field)!r} "
                                               f"after {self.saved[record]!r} was saved")
                    status, answer, _tag = self._call("PATCH", record, {self.field: value},
                                                      tag)
                    with self._lock:
                        if status == 200:
                            self.saved[record] = value
                            self.saves_of[record] = self.saves_of.get(record, 0) + 1
                        elif status == 412:
                            self.retried += 1
                        else:
                            self.refused.append((record, status, str(answer)[-500:]))
                    if status != 412:
                        break
        except Exception as exc:  # reported by join(), in the test's thread
            self.errors.append(f"client {number}: {type(exc).__name__}: {exc}")
