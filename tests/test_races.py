"""No write answered as done is lost when the ways in race on one embedded store, shown
with real processes (issue 19): gunicorn's two workers serving the edit form, `flask
seed load` and `flask ldap sync` each a process of its own, and the issue's
reproduction (the load engine looping in one process while the form saves the same
records; it once ended with 9 of 10 records holding a Location older than the last one
saved).

The two sides of each race write different fields of the same records, so the end is
known: every record holds the value of the last save the form answered "saved" and the
value of the last run (load or sync) that finished. A write lost on the way, and
covered by a later one, is caught too: each run must update every record (one finding
a record "unchanged" found its previous write undone) and each time the form is opened
it must show the value its browser saved last. The records' change sets are counted as
well: one per save and one per record per run. The counts are printed (run with -s to
read them) and recorded as the test's properties (--junitxml).
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import typing as t
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import ldap3
import mongoengine

from admin_app import records
from admin_app.directory.connectors import AD_ATTRIBUTE_MAP
from admin_app.directory.sync import run
from admin_app.models import Customer
from admin_app.models.users import User
from admin_app.records.trace import API, COMMAND_LINE, FORM, IMPORT, SYNC, Trace
from admin_app.security import api_tokens

from .conftest import make_app
from .helpers import ADMIN_EMAIL
from .races import ApiPatches, FormSaves, Repeated, environment, flask
from .servers import dictadmin_server

DEPARTMENTS = ("Dept A", "Dept B")  # a run's value, alternating, so every run changes it
LOCATIONS = ("Site A", "Site B")
FIRST_LOCATION = "Room start"


def add_customers(count: int) -> list[str]:
    """`count` customers, written as a load writes them; their ids."""
    outcome = records.batch.write("customer", [
        {"name": f"Customer {n:04d}", "level": "Customer", "email": f"c{n:04d}@example.test",
         "department": "Dept 0", "location": FIRST_LOCATION} for n in range(count)],
        [], Trace(COMMAND_LINE, IMPORT))
    assert len(outcome.created) == count
    return [str(oid) for oid in outcome.created]


def seed_files(folder: Path, count: int, name: str, values: tuple[str, ...], *,
               backwards: bool = False) -> list[Path]:
    """One seed file per value, each setting `name` of the `count` customers (by email),
    in the order they were added (or `backwards`)."""
    paths = []
    order = range(count - 1, -1, -1) if backwards else range(count)
    for value in values:
        path = folder / f"{name}-{value.replace(' ', '-')}.json"
        path.write_text(json.dumps({"customers": [
            {"email": f"c{n:04d}@example.test", name: value} for n in order]}),
            encoding="utf-8")
        paths.append(path)
    return paths


def seed_load(files: list[Path]) -> Callable[[int], list[str]]:
    """`flask seed load` of the files in turn, each run a process of its own."""
    return lambda n: flask("seed", "load", str(files[n % len(files)]), "--on-existing", "update")


def lost_writes(ids: list[str], expected: dict[str, dict[str, str | None]]) -> list[str]:
    """Each field of a record that does not hold the last value written to it."""
    wanted = set(ids)
    now = {str(d["_id"]): d for d in Customer._get_collection().find()
           if str(d["_id"]) in wanted}
    return [f"{oid}: {name} is {now[oid].get(name)!r}, last written {value!r}"
            for oid in ids for name, value in expected[oid].items()
            if now[oid].get(name) != value]


def change_sets(ids: list[str]) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """Each record's change sets after its creation, in order: (way in, fields)."""
    wanted = set(ids)
    found: dict[str, list[tuple[int, str, frozenset[str]]]] = {oid: [] for oid in ids}
    for change in records.RecordChange._get_collection().find({"created": {"$ne": True}}):
        if str(change["record"]) in wanted:
            found[str(change["record"])].append((
                change["revision"], change["way"],
                frozenset(line["name"] for line in change["fields"])))
    return {oid: [(way, names) for _r, way, names in sorted(sets)]
            for oid, sets in found.items()}


def history_gaps(history: dict[str, list[tuple[str, frozenset[str]]]],
                 expected: dict[tuple[str, str], Counter]) -> list[str]:
    """Each record whose change sets of a way in and field ((way, field) → per record
    count) are not as many as the writes answered done."""
    gaps = []
    for (way, name), counts in expected.items():
        for oid, sets in history.items():
            logged = sum(1 for w, names in sets if w == way and name in names)
            if logged != counts[oid]:
                gaps.append(f"{oid}: {logged} change sets of {name} by {way}, "
                            f"{counts[oid]} writes")
    return gaps


def turns(history: dict[str, list[tuple[str, frozenset[str]]]]) -> int:
    """How often a record's next change came from the other writer: the two sides wrote
    the same records in turn, not one after the other."""
    return sum(1 for sets in history.values() for before, after in pairwise(sets)
               if before != after)


def runs_not_writing_all(runs: list[tuple[int, str]], line: str) -> list[str]:
    """The runs that failed or did not say `line` (every record updated)."""
    return [f"run {number} (exit {code}): {output[-1500:]}"
            for number, (code, output) in enumerate(runs) if code or line not in output]


def loaded_all(count: int) -> str:
    return f"0 created, {count} updated, 0 unchanged, 0 failed."


def verdict(record_property, scenario: str, saves: FormSaves | None, runs: int,
            odd_runs: list[str], lost: list[str], gaps: list[str], turned: int) -> None:
    """Print and record the counts, then assert: no save refused or found undone, every
    run wrote every record, no write lost, one change set per write, the two sides took
    turns."""
    undone = saves.undone if saves else []
    counts = {"web_saves": saves.made if saves else 0, "runs": runs,
              "runs_not_writing_all": len(odd_runs), "saves_found_undone": len(undone),
              "lost_writes": len(lost),
              "missing_change_sets": len(gaps), "turns": turned}
    print(f"\n{scenario}: " + ", ".join(f"{name.replace('_', ' ')} {n}"
                                        for name, n in counts.items()))
    for name, n in counts.items():
        record_property(name, n)
    if saves is not None:
        # The form changes Location only, which no other writer changes: nothing overlaps,
        # so every save is merged and answered "saved" (302 back to the record).
        assert saves.refused == [] and set(saves.answers) == {302}, (
            saves.answers, [(oid, status, said[-2000:]) for oid, status, said in saves.refused[:3]])
    assert lost == [], lost[:10]
    assert undone == [], undone[:10]
    assert odd_runs == [], odd_runs[:3]
    assert gaps == [], gaps[:10]
    assert turned > 0, "the two writers never took turns on a record"


def race(app: t.Any, command: Callable[[int], list[str]], writers: Callable[[str], t.Any]
         ) -> tuple[t.Any, list[tuple[int, str]]]:
    """`command` run again and again, each run a process, while `writers(base)` (the
    form's browsers, API scripts) save through gunicorn's two workers; the writers and
    the runs."""
    with dictadmin_server(Path(app.instance_path), workers=2) as base:
        runner = Repeated(command, environment(app.instance_path), at_least=3).start()
        saves = writers(base).start()
        try:
            saves.join()
        finally:  # no run starts after the test, whatever happened
            runs = runner.stop().join()
    return saves, runs


def outcome(app: t.Any, ids: list[str], saves: t.Any, runs: list[tuple[int, str]],
            ways: tuple[str, str], first_location: str | None = FIRST_LOCATION
            ) -> tuple[list[str], list[str], dict[str, list[tuple[str, frozenset[str]]]]]:
    """The writes lost, the change sets missing (`ways`: the writers', the runs') and the
    records' change sets, after the writers saved Location and the runs Department."""
    with app.app_context():
        last = DEPARTMENTS[(len(runs) - 1) % 2]
        lost = lost_writes(ids, {oid: {"department": last,
                                       "location": saves.saved.get(oid, first_location)}
                                 for oid in ids})
        history = change_sets(ids)
    gaps = history_gaps(history, {(ways[0], "location"): Counter(saves.saves_of),
                                  (ways[1], "department"): Counter(dict.fromkeys(
                                      ids, len(runs)))})
    return lost, gaps, history


def loads_against(app: t.Any, folder: Path, count: int,
                  writers: Callable[[str, list[str]], t.Any], way: str = FORM
                  ) -> tuple[t.Any, list[tuple[int, str]], list[str], list[str],
                             dict[str, list[tuple[str, frozenset[str]]]]]:
    """`count` customers; seed loads setting Department while `writers(base, ids)` save
    Location as `way`: the writers, the runs, and their `outcome`."""
    with app.app_context():
        ids = add_customers(count)
    files = seed_files(folder, count, "department", DEPARTMENTS)
    saves, runs = race(app, seed_load(files), lambda base: writers(base, ids))
    return (saves, runs, *outcome(app, ids, saves, runs, (way, IMPORT)))


def form_saves(base: str, ids: list[str]) -> FormSaves:
    """Three browsers saving Location, 80 saves each."""
    return FormSaves(base, ids, "location", saves_each=80, browsers=3)


def test_a_seed_load_again_and_again_and_the_form_on_500_customers_lose_no_write(
        tmp_path, record_property):
    app = make_app(tmp_path, "embedded")
    try:
        saves, runs, lost, gaps, history = loads_against(app, tmp_path, 500, form_saves)
        verdict(record_property, "seed load of 500 vs the form", saves, len(runs),
                runs_not_writing_all(runs, loaded_all(500)), lost, gaps, turns(history))
    finally:
        mongoengine.disconnect()


# While a customer's Department is Dept A, its Location may not change.
LOCK_LOCATION = {"name": "lock-location", "entity": "customer",
                 "when": {"field": "department", "equals": DEPARTMENTS[0]},
                 "then": {"read_only": ["location"]}}


def departments_at_location_saves(ids: list[str]) -> list[str]:
    """Each form save of Location that history records while the record's Department,
    as the change sets before it left it, was one the rule locks Location under."""
    wanted, found = set(ids), []
    department = dict.fromkeys(ids, "Dept 0")
    changes = sorted((c for c in records.RecordChange._get_collection().find(
        {"created": {"$ne": True}}) if str(c["record"]) in wanted),
        key=lambda c: (str(c["record"]), c["revision"]))
    for change in changes:
        oid, lines = str(change["record"]), {line["name"]: line for line in change["fields"]}
        if change["way"] == FORM and "location" in lines \
                and department[oid] == LOCK_LOCATION["when"]["equals"]:
            found.append(f"{oid}: Location saved by the form at revision "
                         f"{change['revision']} under Department {department[oid]}")
        if "department" in lines:
            department[oid] = lines["department"]["new"]
    return found


def test_a_rule_in_force_holds_while_seed_loads_and_the_form_race_on_300_customers(
        tmp_path, record_property):
    """A read-only rule is decided on the record as it is written, not as the form found
    it: seed loads flip Department between Dept A (Location locked) and Dept B while
    the form saves Location. A save is refused with the rule's sentence, or stored while
    the record's Department is Dept B; no write is lost, and history has one change set
    per write."""
    from admin_app.customising.conditional_rules import add_rule

    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            add_rule(LOCK_LOCATION)
        saves, runs, lost, gaps, history = loads_against(app, tmp_path, 300, form_saves)
        with app.app_context():
            locked_saves = departments_at_location_saves(list(history))
        sentence = "Location is read-only when Department is Dept A (rule lock-location)"
        odd = [(oid, status, said[-2000:]) for oid, status, said in saves.refused
               if status != 200 or sentence not in html.unescape(said)]
        counts = {"web_saves": saves.made, "refused_by_the_rule": len(saves.refused),
                  "runs": len(runs), "lost_writes": len(lost),
                  "missing_change_sets": len(gaps), "saves_under_the_lock": len(locked_saves)}
        print("\nseed load of 300 vs the form under a rule: " + ", ".join(
            f"{name.replace('_', ' ')} {n}" for name, n in counts.items()))
        for name, n in counts.items():
            record_property(name, n)
        assert odd == [], odd[:3]
        assert saves.made > 0 and saves.refused, "the race never both saved and refused"
        assert saves.made + len(saves.refused) == 3 * 80
        assert locked_saves == [], locked_saves[:5]
        assert lost == [] and saves.undone == [], (lost[:5], saves.undone[:5])
        assert runs_not_writing_all(runs, loaded_all(300)) == []
        assert gaps == [], gaps[:10]
        assert turns(history) > 0, "the two writers never took turns on a record"
    finally:
        mongoengine.disconnect()


def test_a_seed_load_again_and_again_and_api_patches_on_500_customers_lose_no_write(
        tmp_path, record_property, monkeypatch):
    """The REST API is a way in like the form: scripts PATCH Location (If-Match, retrying
    on 412) while seed loads set Department, each in processes of their own."""
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            admin = User.objects.get(email=ADMIN_EMAIL)
            token = api_tokens.create(admin, "read-write", actor="test").secret
        monkeypatch.setenv("API_REQUESTS_PER_MINUTE", "1000000")
        patches, runs, lost, gaps, history = loads_against(
            app, tmp_path, 500, lambda base, ids: ApiPatches(base, token, ids, "location",
                                                             patches_each=80), way=API)
        record_property("api_patches", sum(patches.saves_of.values()))
        record_property("api_retries_after_412", patches.retried)
        assert patches.refused == [] and patches.undone == [], (patches.refused[:3],
                                                                patches.undone[:3])
        assert sum(patches.saves_of.values()) == 3 * 80
        verdict(record_property, "seed load of 500 vs API PATCHes", None, len(runs),
                runs_not_writing_all(runs, loaded_all(500)), lost, gaps, turns(history))
    finally:
        mongoengine.disconnect()


def test_a_directory_sync_again_and_again_and_the_form_on_500_people_lose_no_write(
        directory, tmp_path, record_property):
    users = directory.add_users(500)
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            # The directory owns Department; Location is the desk's (not mapped).
            connector = directory.connector(attribute_map={
                attribute: name for attribute, name in AD_ATTRIBUTE_MAP.items()
                if name != "location"})
            connector.save()
            first = run(connector)
            assert first.status == "complete" and first.counts["created"] == 500, first.reason
            ids = [str(d["_id"]) for d in Customer._get_collection().find(
                {"directory.connector": connector.name})]
            assert len(ids) == 500

        def next_run(number: int) -> list[str]:
            """The directory changes every person's department, then a sync runs."""
            with directory.admin() as connection:
                for user in users:
                    connection.modify(user.dn, {"department": [
                        (ldap3.MODIFY_REPLACE, [DEPARTMENTS[number % 2]])]})
            return flask("ldap", "sync", "--connector", connector.name)

        saves, runs = race(app, next_run, lambda base: form_saves(base, ids))
        lost, gaps, history = outcome(app, ids, saves, runs, (FORM, SYNC), first_location=None)
        everyone = (f"{connector.name}: complete (0 created, 500 updated, 0 archived, "
                    f"0 restored, 0 conflicts, 0 skipped, 0 unchanged).")
        verdict(record_property, "directory sync of 500 vs the form", saves, len(runs),
                runs_not_writing_all(runs, everyone), lost, gaps, turns(history))
    finally:
        mongoengine.disconnect()


def test_two_seed_loads_again_and_again_on_the_same_500_customers_lose_no_write(
        tmp_path, record_property):
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            ids = add_customers(500)
        env = environment(app.instance_path)
        each = 6
        # The second load walks the records the other way: the two meet on every record.
        loops = [Repeated(seed_load(seed_files(tmp_path, 500, name, values,
                                               backwards=backwards)), env, at_least=each)
                 for name, values, backwards in (("department", DEPARTMENTS, False),
                                                 ("location", LOCATIONS, True))]
        for loop in loops:
            loop.start().stop()  # each runs `each` times, both at once
        departments, locations = (loop.join() for loop in loops)
        with app.app_context():
            lost = lost_writes(ids, {oid: {"department": DEPARTMENTS[(each - 1) % 2],
                                           "location": LOCATIONS[(each - 1) % 2]}
                                     for oid in ids})
            history = change_sets(ids)
        gaps = history_gaps(history, {(IMPORT, name): Counter(dict.fromkeys(ids, each))
                                      for name in ("department", "location")})
        verdict(record_property, "two seed loads of the same 500", None,
                len(departments) + len(locations),
                runs_not_writing_all(departments + locations, loaded_all(500)), lost, gaps,
                turns(history))
    finally:
        mongoengine.disconnect()


# The reproduction: the load engine in a loop in one process, flipping the
# Department of the records of two files in turn, until told to stop (and at least twice).
# A load that did not update every record found a previous load's write undone.
ENGINE_LOOP = """
import json, sys
from pathlib import Path
from admin_app import create_app
from admin_app.importer.engine import Options, load

files, stop, count = [Path(sys.argv[1]), Path(sys.argv[2])], Path(sys.argv[3]), int(sys.argv[4])
loads, odd = 0, []
with create_app().app_context():
    while not stop.exists() or loads < 2:
        report = load([files[loads % 2]], Options(on_existing="update"))
        if not report.ok or report.counts["updated"] != count:
            odd.append(f"load {loads}: " + " ".join([report.summary(),
                                                     *report.failure_lines()]))
        loads += 1
print(json.dumps({"loads": loads, "odd": odd}))
"""


def test_the_load_engine_looping_on_10_customers_against_2000_form_saves_loses_none(
        tmp_path, record_property):
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            ids = add_customers(10)
        files = seed_files(tmp_path, 10, "department", DEPARTMENTS)
        stop = tmp_path / "stop"
        with dictadmin_server(tmp_path / "instance", workers=2) as base:
            engine = subprocess.Popen(
                [sys.executable, "-c", ENGINE_LOOP, *map(str, files), str(stop), "10"],
                env=environment(app.instance_path), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            try:
                saves = FormSaves(base, ids, "location", saves_each=500, browsers=4).start()
                saves.join()
            finally:
                stop.touch()
                output = engine.communicate(timeout=300)[0]
        assert engine.returncode == 0, output
        looped = json.loads(output.strip().splitlines()[-1])
        with app.app_context():
            last = DEPARTMENTS[(looped["loads"] - 1) % 2]
            lost = lost_writes(ids, {oid: {"department": last, "location": saves.saved[oid]}
                                     for oid in ids})
            history = change_sets(ids)
        gaps = history_gaps(history, {(FORM, "location"): Counter(saves.saves_of),
                                      (IMPORT, "department"): Counter(dict.fromkeys(
                                          ids, looped["loads"]))})
        verdict(record_property, "the load engine looping on 10 vs the form (the issue's "
                "reproduction)", saves, looped["loads"], looped["odd"], lost, gaps,
                turns(history))
        assert saves.made >= 2000, saves.answers
    finally:
        mongoengine.disconnect()
