"""What record history costs on the embedded store: issue 19's goals 1, 3 and 4, as ratios.

Every figure comes from a fresh process on a fresh embedded store (litemongo), and every
ratio from figures measured in this same run. The issue's starting commit (`--baseline`,
de4c5a5: no history) is checked out with `git worktree add --detach` into a temporary
directory, put first on the measuring process's sys.path (the venv is shared and its
editable install points at this checkout, which sys.path entries go before), and removed
at the end. Not a test: it asserts nothing.

    .venv/bin/python bench/history_bench.py [--customers 20000] [--orgs 2000]
                                            [--baseline de4c5a5] [--repeat 3]

1. Seed import: the same JSON Lines file (bench/import_bench.py's generator) imported by
   this tree (records and their history, through `records.batch.write`) and by the
   starting commit, and raw `insert_many` of the same documents (import_bench's
   "baseline" mode), `--repeat` times each, interleaved; median records/s and the ratios.
2. A record whose history holds 10,000 change sets (made through `records.update`, the
   write path itself: a create and 9,999 updates), against the same kind of record with
   no history (inserted as a record from before history: values, revision, search keys),
   and, to tell depth from rendering, one with 20 (one full History page): its edit page
   and its first History page, asked for by an admin's test client in a fresh process on
   the store (the first request, which builds the process's indexes, then the median of
   warm requests).
3. A form save: GET a customer's edit page, then POST the form as a browser would, every
   field as shown and Location changed (with the `_revision` / `_opened` hidden inputs,
   which both trees' forms carry), on a store of 2,000 imported customers; the same script
   on this tree and on the starting commit, median of the saves.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent

DEEP = 10_000  # change sets in the deep record's history
PAGE = 20  # one History page
REQUESTS = 15  # warm requests per page figure, saves per save figure
SMALL = (200, 2_000)  # orgs, customers: the store the pages and the saves run on


# -- the measuring processes -------------------------------------------------------------

def child(mode: str, args: list[str]) -> None:
    """Runs in a process of its own; prints one JSON line for the parent."""
    if mode == "raw":  # import_bench's own raw insert, on this tree
        sys.path.insert(0, str(BENCH))
        import import_bench

        import_bench.child("baseline", "embedded", Path(args[0]), Path(args[1]))
        return
    tree = ROOT if mode in ("build", "pages") else Path(args[0])
    sys.path.insert(0, str(tree))
    # The venv's editable install finds a module missing from `tree` in this checkout
    # (a meta path finder, after sys.path): without it, the starting commit is all its own.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in f.__module__]
    import admin_app

    out = {"import": lambda: timed_import(Path(args[1]), Path(args[2])),
           "build": lambda: build(Path(args[0]), int(args[1])),
           "pages": lambda: pages(Path(args[0]), args[1]),
           "save": lambda: saves(Path(args[1])),
           "floor": lambda: floor(Path(args[1]), Path(args[2]))}[mode]()
    out["code"] = str(Path(admin_app.__file__).parents[1])  # which tree was measured
    strays = [name for name, module in sys.modules.items() if name.startswith("admin_app")
              and getattr(module, "__file__", None)
              and not Path(module.__file__).is_relative_to(tree)]
    if strays:
        raise SystemExit(f"modules from outside {tree}: {strays}")
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def timed_import(path: Path, workdir: Path) -> dict[str, t.Any]:
    """`importer.load` of the file into a fresh store, timed as import_bench times it."""
    from admin_app import create_app, importer
    from admin_app.dictionary import defaults

    app = create_app({"INSTANCE_PATH": str(workdir), "MONGODB_URI": None, "SECRET_KEY": "b"})
    with app.app_context():
        defaults.install()
        start = time.perf_counter()
        report = importer.load([path])
        seconds = time.perf_counter() - start
        if not report.ok:
            raise SystemExit("\n".join(report.failure_lines(5)))
        return {"seconds": seconds, "records": report.total,
                "history": _history_count()}


def floor(path: Path, workdir: Path) -> dict[str, t.Any]:
    """What no import that keeps history as documents can skip: decoding and validating
    each line (import_bench's floor), inserting the records as the import stores them
    (search keys, revision) and inserting their change sets, raw, into a fresh store with
    the app's indexes. The documents are the ones this tree's import wrote."""
    from admin_app import create_app, importer
    from admin_app.dictionary import defaults
    from admin_app.models import Customer
    from admin_app.records import history

    sys.path.insert(0, str(BENCH))
    from import_bench import decode_and_validate

    def app_on(folder: Path) -> t.Any:
        return create_app({"INSTANCE_PATH": str(folder), "MONGODB_URI": None,
                           "SECRET_KEY": "b"})

    with app_on(workdir / "imported").app_context():
        defaults.install()
        importer.load([path])
        records = list(Customer._get_collection().find({}))
        changes = list(history.collection().find({}))
        validate_s, validated = decode_and_validate(path)
    out: dict[str, t.Any] = {"validate_s": validate_s / validated * len(records)}
    with app_on(workdir / "raw").app_context():
        defaults.install()
        for name, collection, docs in (("records_s", Customer._get_collection(), records),
                                       ("history_s", history.collection(), changes)):
            collection.find_one({"level": "Org"})  # its indexes built first, as the raw insert
            start = time.perf_counter()
            for i in range(0, len(docs), 1000):
                collection.insert_many(docs[i:i + 1000], ordered=False)
            out[name] = time.perf_counter() - start
    out.update(records=len(records), changes=len(changes))
    return out


def _history_count() -> int | None:
    """Change sets in the store (None on a tree without history)."""
    try:
        from admin_app.records import history
    except ImportError:
        return None
    return history.collection().count_documents({})


def _store(workdir: Path) -> t.Any:
    """An app on the embedded store in `workdir`, with the default dictionary and the
    tests' admin (as the tests make one), and the small seed file imported."""
    from admin_app import importer
    from tests.conftest import make_app

    app = make_app(workdir, "embedded")
    path = workdir / "seed.jsonl"
    if not path.exists():
        sys.path.insert(0, str(BENCH))
        from import_bench import generate

        generate(path, *SMALL)
        with app.app_context():
            report = importer.load([path])
            if not report.ok:
                raise SystemExit("\n".join(report.failure_lines(5)))
    return app


def build(workdir: Path, depth: int) -> dict[str, t.Any]:
    """The store for part 2: the small seed, then one customer with `depth` change sets
    (a create and depth - 1 updates, each through the write path), or none at all."""
    from admin_app import records
    from admin_app.models import Customer
    from admin_app.records import history, search_keys, trace

    app = _store(workdir)
    values = {"name": "Deep Record", "level": "Customer", "department": "Dept 1",
              "email": "deep@example.com"}
    started = time.perf_counter()
    with app.app_context():
        if depth == 0:  # a record from before history: its values, revision, search keys
            doc = {**values, "location": f"Place {DEEP - 1}", "archived": False,
                   "revision": 1}
            doc["search_keys"] = search_keys.keys_for("customer", doc)
            oid = Customer._get_collection().insert_one(doc).inserted_id
        else:
            by = trace.Trace(trace.COMMAND_LINE, trace.FORM)
            oid = records.create("customer", {**values, "location": "Place 0"},
                                 by).record["_id"]
            for n in range(1, depth):
                records.update("customer", oid, {"location": f"Place {n}"}, by)
        built = time.perf_counter() - started
        entries = history.collection().count_documents({"record": oid})
    return {"id": str(oid), "entries": entries, "build_s": built}


def pages(workdir: Path, oid: str) -> dict[str, t.Any]:
    """A fresh worker on the built store: the first request of each page, then medians."""
    sys.path.insert(0, str(BENCH))
    from timing import median_ms

    from tests.helpers import login

    app = _store(workdir)
    client = app.test_client()
    login(client)
    urls = {"edit": f"/admin/customer/edit/?id={oid}",
            "history": f"/admin/history/customer/{oid}/"}

    def get(url: str) -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code}")

    out: dict[str, t.Any] = {}
    for name, url in urls.items():
        out[f"{name} first"] = median_ms(lambda url=url: get(url), 1)
    for name, url in urls.items():
        get(url)  # warm
        out[name] = median_ms(lambda url=url: get(url), REQUESTS)
    html = client.get(urls["history"]).get_data(as_text=True)
    out["shown"] = html.count('class="history-entry"')
    return out


class FormValues(HTMLParser):
    """What a browser posts for a record form, left as shown."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name") or ""
        if tag == "input" and name and a.get("type") != "submit" \
                and (a.get("type") != "checkbox" or "checked" in a):
            self.values[name] = a.get("value") or ("y" if a.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea:
            text = self.values[self._textarea]  # a browser drops the leading newline
            self.values[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_of(html: str) -> dict[str, str]:
    start = html.index('class="admin-form dictadmin-record"')
    return FormValues(html[html.rindex("<form", 0, start):html.index("</form>", start)]).values


def saves(workdir: Path) -> dict[str, t.Any]:
    """Form saves of one imported customer's Location, by the tests' admin."""
    from admin_app.models import Customer
    from tests.helpers import login

    app = _store(workdir)
    client = app.test_client()
    login(client)
    with app.app_context():
        oid = Customer._get_collection().find_one({"name": "Customer 000007"})["_id"]
    url = f"/admin/customer/edit/?id={oid}"
    totals, posts = [], []
    for n in range(REQUESTS + 2):  # the first two warm up
        started = time.perf_counter()
        page = client.get(url)
        opened = time.perf_counter()
        data = {**form_of(page.get_data(as_text=True)), "location": f"Place {n}",
                "_continue_editing": "Save"}
        response = client.post(url, data=data)
        done = time.perf_counter()
        if page.status_code != 200 or response.status_code != 302:
            raise SystemExit(f"save {n}: {page.status_code}, {response.status_code}: "
                             f"{response.get_data(as_text=True)[:300]}")
        if n >= 2:
            totals.append((done - started) * 1000)
            posts.append((done - opened) * 1000)
    with app.app_context():
        stored = Customer._get_collection().find_one({"_id": oid})
        history = _history_count()
        from_record = None
        if history is not None:
            from admin_app.records.history import collection
            from_record = collection().count_documents({"record": oid})
    if stored["location"] != f"Place {REQUESTS + 1}":
        raise SystemExit(f"the last save was not kept: {stored['location']!r}")
    return {"save": statistics.median(totals), "post": statistics.median(posts),
            "record_history": from_record}


# -- the parent ----------------------------------------------------------------------------

def run(mode: str, *args: t.Any) -> dict[str, t.Any]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, *map(str, args)],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{mode} {args}: exit {out.returncode}\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh(mode: str, *args: t.Any) -> dict[str, t.Any]:
    """`mode` in a fresh process on a fresh store (its own temporary directory)."""
    with tempfile.TemporaryDirectory() as workdir:
        return run(mode, *args, workdir)


def import_part(path: Path, start: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Median seconds of each way of loading the file, interleaved so drift hits all."""
    runs: dict[str, list[dict[str, t.Any]]] = {"raw": [], "this": [], "start": []}
    for _ in range(repeat):
        runs["raw"].append(fresh("raw", path))
        runs["this"].append(fresh("import", ROOT, path))
        runs["start"].append(fresh("import", start, path))
    out = {}
    for name, got in runs.items():
        seconds = statistics.median(r["seconds"] for r in got)
        out[name] = {"seconds": seconds, "rate": got[0]["records"] / seconds,
                     "all": [r["seconds"] for r in got], "history": got[0].get("history"),
                     "code": got[0].get("code", str(ROOT)), "records": got[0]["records"]}
    return out


def pages_part() -> dict[int, dict[str, t.Any]]:
    out = {}
    for depth in (0, PAGE, DEEP):
        with tempfile.TemporaryDirectory() as workdir:
            built = run("build", workdir, depth)
            out[depth] = {**built, **run("pages", workdir, built["id"])}
    return out


def worktree(commit: str, where: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--quiet", "--detach",
                    str(where), commit], check=True)


def drop_worktree(where: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)],
                   check=False)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orgs", type=int, default=2_000)
    parser.add_argument("--baseline", default="de4c5a5",
                        help="the commit to compare with (the issue's starting commit)")
    parser.add_argument("--repeat", type=int, default=3, help="imports of each kind")
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    from import_bench import generate

    with tempfile.TemporaryDirectory() as tmp:
        start = Path(tmp) / "start"
        worktree(args.baseline, start)
        try:
            path = Path(tmp) / "seed.jsonl"
            generate(path, args.orgs, args.customers)
            print(f"file: {args.orgs} orgs + {args.customers} customers; starting commit "
                  f"{args.baseline}; {args.repeat} imports of each kind, interleaved",
                  flush=True)
            imports = import_part(path, start, args.repeat)
            for name, words in (("raw", "raw insert_many"), ("this", "import, this tree"),
                                ("start", f"import, {args.baseline}")):
                got = imports[name]
                history = "" if got["history"] is None else \
                    f"; {got['history']:,} change sets written"
                print(f"  {words:<22} {got['rate']:9,.0f} records/s, "
                      f"{got['seconds'] / imports['raw']['seconds']:.2f}x the raw time (median "
                      f"{got['seconds']:.2f} s of " + ", ".join(f"{s:.2f}" for s in got["all"])
                      + f"{history}; code {got['code']})", flush=True)

            least = fresh("floor", ROOT, path)
            parts = {"validate": least["validate_s"], "insert the records":
                     least["records_s"], "insert their history": least["history_s"]}
            print("  least an import with history can take, in raw insert_many times: "
                  + " + ".join(f"{words} {s / imports['raw']['seconds']:.2f}x"
                               for words, s in parts.items())
                  + f" = {sum(parts.values()) / imports['raw']['seconds']:.2f}x "
                  f"({least['records']:,} records, {least['changes']:,} change sets)",
                  flush=True)

            deep = pages_part()
            print(f"record pages (ms; first request of a fresh worker, then median of "
                  f"{REQUESTS} warm):")
            for got in deep.values():
                print(f"  {got['entries']:>6,} change sets: edit {got['edit first']:6.1f} / "
                      f"{got['edit']:6.1f}, History page 1 {got['history first']:6.1f} / "
                      f"{got['history']:6.1f} ({got['shown']} shown; history built in "
                      f"{got['build_s']:.1f} s)", flush=True)

            save_this = fresh("save", ROOT)
            save_start = fresh("save", start)
            print(f"form save (GET edit + POST, median of {REQUESTS} ms; the POST alone):")
            for words, got in (("this tree", save_this), (args.baseline, save_start)):
                recorded = "" if got["record_history"] is None else \
                    f"; the record's history holds {got['record_history']} change sets"
                print(f"  {words:<10} {got['save']:6.1f} ms (POST {got['post']:6.1f} ms)"
                      f"{recorded}; code {got['code']}", flush=True)
        finally:
            drop_worktree(start)

    def line(name: str, value: float, goal: float, at_least: bool = False) -> None:
        met = value >= goal if at_least else value <= goal
        print(f"{name:<62} {value:6.2f}x  (goal {'>=' if at_least else '<='} {goal:g}x: "
              f"{'met' if met else 'NOT met'})")

    print()
    line(f"1. import records/s, this tree / {args.baseline}",
         imports["this"]["rate"] / imports["start"]["rate"], 0.75, at_least=True)
    line("1. import time / raw insert_many time, this tree",
         imports["this"]["seconds"] / imports["raw"]["seconds"], 2.5)
    line(f"3. edit page, {DEEP:,} change sets / none (warm median)",
         deep[DEEP]["edit"] / deep[0]["edit"], 3)
    line(f"3. History page 1, {DEEP:,} change sets / none (warm median)",
         deep[DEEP]["history"] / deep[0]["history"], 3)
    line(f"4. form save, this tree / {args.baseline}",
         save_this["save"] / save_start["save"], 1.3)


if __name__ == "__main__":
    main()
