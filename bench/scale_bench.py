"""How the embedded store's costs grow with the data, with records like a real desk's:
issue 20's goals (a fresh worker's first answer, a worker's memory, a save) and issue
14's ratios, in one run.

Every figure comes from real processes on one embedded store (litemongo), as two gunicorn
workers would be: worker A seeds the store, signs in and saves one customer now and
then; worker B is started as `make run` starts a worker (the app, then
`admin_app.warmup.warm_up`, which `gunicorn.conf.py` calls after the fork) and serves
the pages, its first request being a signed-in user's customer list. Each store size
gets fresh processes, so a worker's memory is its own. Not a test: it asserts nothing.

    .venv/bin/python bench/scale_bench.py [--repeat 5] [--quick]

The records fill every list column: customers have an Org, department, location,
phone and email; Orgs a phone and email; each record's search keys are what the app
itself stores (`records.search_keys.keys_for` under the default dictionary).

Prints, per size: the seconds `warm_up` takes in a new worker; ms for that
worker's first request (the customer list) and for a warm customer list page 1 (median);
ms for a list search and per Org lookup keystroke (medians); ms for the list page in B
right after A saved; ms for a save of the customer edit form through B (the POST, median
of `repeat`); B's resident memory after all that; and, where asked, the seconds of a
dictionary change that rewrites every customer's search keys (run to its end outside a
request, as a command does). Then the goals, with "met" / "NOT met". `--quick` skips the
100,000-Org sizes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TYPED = 6  # letters typed into the Org box, one lookup request per keystroke
SEARCHED = "carter fin"  # typed into the customer list's search box

FIRST = ("Alice Bob Chen Dana Emeka Fatima George Hannah Ivan Julia Kwame Laura Mohammed "
         "Nadia Oliver Priya Quentin Rosa Samuel Tara Umar Valeria William Ximena Yusuf "
         "Zoe Amir Beatriz Callum Deepa Elena Finn Grace Hiro Isla Jamal Keiko Liam Maya "
         "Noah Olga Pablo Rhea Sven Tomas Ursula Victor Wen Yara Zain").split()
LAST = ("Carter Singh Wei Okafor Smith Jones Brown Taylor Wilson Davies Evans Thomas "
        "Johnson Roberts Walker Wright Robinson Thompson White Hughes Edwards Green Hall "
        "Wood Harris Martin Jackson Clarke Lewis Patel Khan Ahmed Murphy Kelly Nguyen "
        "Garcia Rossi Muller Novak Kowalski Silva Costa Fischer Larsen Berg Moreau Dubois "
        "Sato Tanaka Kim").split()
DEPARTMENTS = ("Finance", "Engineering", "IT", "Human Resources", "Facilities", "Sales",
               "Marketing", "Legal", "Procurement", "Customer Service", "Operations",
               "Research", "Quality Assurance", "Logistics", "Payroll", "Estates")
LOCATIONS = ("Sheffield HQ", "Plant 2", "London Office", "Bristol Depot", "Leeds Hub",
             "Manchester Centre", "Glasgow Branch", "Cardiff Site", "Remote",
             "Birmingham Works", "Newcastle Quay", "Belfast Office")
ORG_WORDS = (("Acme Bright North South East West Blue Green Red Silver Golden Royal Prime "
              "Summit Harbour River Valley Oak Pine Cedar Maple Stone Iron Crystal Swift "
              "Rapid Modern Classic Global Local United Allied Civic Metro Urban Rural "
              "Coastal Highland Lowland Central Eastern Western Northern Southern Grand "
              "Little Great Upper Lower Old New Clear Bold True Fair Open").split(),
             ("Manufacturing Council Traders Logistics Systems Foods Energy Health Estates "
              "Motors Textiles Media Finance Holdings Partners Networks Labs Works Farms "
              "Foundry Transport Retail Pharma Water Power Telecom Print Timber Steel "
              "Glass Paper Software Devices Security Catering Cleaning Building Housing "
              "Leisure Travel Insurance Consulting Design Engineering Shipping Mining "
              "Chemicals Plastics Furniture Clothing Books Music Sports Garden").split(),
             ("Ltd", "Plc", "Group", "Trust", "Company", "Services", "Partnership",
              "Cooperative", "Association", "Agency", "Foundation", "Society", "Bureau",
              "Authority", "Institute", "College", "School", "Clinic", "Practice", "Studio",
              "Centre", "Network", "Alliance", "Union", "Board", "Office", "Works", "Hub",
              "Collective", "Guild", "Federation", "Consortium", "Enterprises"))


def org_name(i: int) -> str:
    """The i-th Org's name, distinct up to 100,000 and more (three words, as real ones)."""
    first, second, third = ORG_WORDS
    return (f"{first[i % len(first)]} {second[(i // len(first)) % len(second)]} "
            f"{third[(i // (len(first) * len(second))) % len(third)]}")


def phone(i: int) -> str:
    return f"+44 {20 + i % 97} {7000 + (i * 7) % 3000} {(i * 37) % 10000:04d}"


def org_values(i: int) -> dict[str, t.Any]:
    first, second = ORG_WORDS[0], ORG_WORDS[1]
    domain = f"{first[i % len(first)]}{second[(i // len(first)) % len(second)]}".lower()
    return {"name": org_name(i), "level": "Org", "phone_1": phone(i),
            "email": f"helpdesk@{domain}.example"}


def customer_values(i: int, org: t.Any, org_index: int) -> dict[str, t.Any]:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    domain = org_values(org_index)["email"].split("@")[1]
    return {"name": f"{first} {last}", "level": "Customer", "org": org,
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
            "location": LOCATIONS[(i // 7) % len(LOCATIONS)], "phone_1": phone(i + 50_000),
            "email": f"{first}.{last}{i % 100 or ''}@{domain}".lower()}


class Worker:
    """One process with its own app on the shared store, answering commands in order."""

    def __init__(self, store_dir: str, warm: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(store_dir, child, warm), daemon=True)
        self._process.start()
        ok, self.started = self._conn.recv()
        if not ok:
            raise RuntimeError(self.started)

    def __call__(self, command: str, *args: t.Any) -> t.Any:
        self._conn.send((command, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(value)
        return value

    def stop(self) -> None:
        self._conn.send(("stop", ()))
        self._process.join(30)


def _serve(store_dir: str, conn: t.Any, warm: bool) -> None:
    """Start as a gunicorn worker does (the app, then `warm_up(app)` if `warm`), report
    how long the warming took, then answer commands."""
    import traceback

    try:
        from admin_app.warmup import warm_up
        from tests.conftest import make_app

        app = make_app(Path(store_dir), "embedded")
        started = time.perf_counter()
        if warm:
            warm_up(app)
        conn.send((True, time.perf_counter() - started))
    except Exception:  # noqa: BLE001 - reported to the parent, which stops the run
        conn.send((False, traceback.format_exc()))
        return
    commands = Commands(app)
    while True:
        command, args = conn.recv()
        if command == "stop":
            return
        try:
            conn.send((True, getattr(commands, command)(*args)))
        except Exception:  # noqa: BLE001 - reported to the parent, which stops the run
            conn.send((False, traceback.format_exc()))


class Commands:
    """What a worker does when told: seed, sign in, serve pages, lookups and saves."""

    def __init__(self, app: t.Any) -> None:
        self.app, self.client = app, app.test_client()

    def seed(self, orgs: int, customers: int) -> int:
        """The demo data set (orgs == 0), else generated Orgs and Customers stored as the
        importer stores them (boolean Archive flag, revision, the app's search keys)."""
        from admin_app.models import Customer
        from admin_app.records import search_keys

        with self.app.app_context():
            if not orgs:
                from admin_app import demo
                demo.load()
                return Customer.objects.count()
            coll = Customer._get_collection()
            fields = search_keys.searched_fields("customer")
            org_ids: list[t.Any] = []
            for start in range(0, orgs, 5000):
                docs = [_record(org_values(i), fields) for i in
                        range(start, min(orgs, start + 5000))]
                org_ids += coll.insert_many(docs).inserted_ids
            for start in range(0, customers, 5000):
                docs = [_record(customer_values(i, org_ids[i % orgs], i % orgs), fields)
                        for i in range(start, min(customers, start + 5000))]
                coll.insert_many(docs)
            return coll.count_documents({})

    def sign_in(self) -> str:
        """Sign in here; the session cookie, for the other worker's client."""
        from tests.helpers import login

        assert login(self.client).status_code == 302, "sign-in failed"
        return self.client.get_cookie("session").value

    def use_session(self, cookie: str) -> None:
        """A user signed in on another worker: their next request comes here."""
        self.client.set_cookie("session", cookie)

    def first_page_ms(self) -> float:
        return _median_ms(lambda: self._get("/admin/customer/"), 1)

    def page_ms(self, repeat: int) -> float:
        return _median_ms(lambda: self._get("/admin/customer/"), repeat)

    def search_ms(self, repeat: int) -> float:
        """The customer list searched for a name and a department word."""
        url = f"/admin/customer/?search={SEARCHED.replace(' ', '+')}"
        return _median_ms(lambda: self._get(url, text="Carter"), repeat)

    def lookup_ms(self, repeat: int) -> float:
        """Median ms of one keystroke's request while typing the start of the first Org's
        name into the Org box (so every keystroke finds Orgs, on every size)."""
        from admin_app.models import Customer

        with self.app.app_context():
            typed = Customer.objects(level="Org").order_by("name").first().name[:TYPED]
        samples = []
        for _ in range(repeat):
            for end in range(1, len(typed) + 1):
                url = f"/admin/customer/ajax/lookup/?name=org&query={typed[:end]}"
                samples.append(_median_ms(lambda url=url: self._get(url, found=True), 1))
        return sorted(samples)[len(samples) // 2]

    def save_one(self) -> None:
        """Save one customer as a script would (a MongoEngine save: a new revision)."""
        from admin_app.models import Customer

        with self.app.app_context():
            record = Customer.objects(level="Customer").first()
            record.phone_1 = f"+44 20 7946 {time.time_ns() % 10000:04d}"
            record.save()

    def form_save_ms(self, repeat: int) -> float:
        """Median ms of saving the customer edit form (Save: the POST, whose answer is a
        redirect), a new phone number each time, on customers through the list."""
        from admin_app.models import Customer
        from tests.helpers import form_values

        with self.app.app_context():
            ids = [str(c.pk) for c in Customer.objects(level="Customer").only("id")
                   .order_by("name").limit(repeat)]
        samples = []
        for n in range(repeat):
            url = f"/admin/customer/edit/?id={ids[n % len(ids)]}"
            page = self.client.get(url)
            assert page.status_code == 200, page.status_code
            data = {**form_values(page.get_data(as_text=True)),
                    "phone_1": f"+44 20 7946 {(time.time_ns() + n) % 10000:04d}",
                    "_continue_editing": "Save"}
            data = {k: v for k, v in data.items() if not (k == "archived" and v == "")}
            started = time.perf_counter()
            answer = self.client.post(url, data=data)
            samples.append((time.perf_counter() - started) * 1000)
            with self.app.app_context():
                stored = Customer.objects(pk=ids[n % len(ids)]).first().phone_1
            if answer.status_code != 302 or stored != data["phone_1"]:
                raise RuntimeError(f"the save was refused: {answer.status_code} "
                                   f"{answer.get_data(as_text=True)[:300]}")
        return sorted(samples)[len(samples) // 2]

    def keys_follow_s(self) -> float:
        """Seconds of an admin's dictionary change that rewrites every record's search
        keys (run to its end outside a request, as a command does): Email made
        unsearchable (the customers' keys lose its words), then back."""
        from admin_app.customising.fields import update_field

        with self.app.app_context():
            started = time.perf_counter()
            update_field("customer", "email", searchable=False)
            taken = time.perf_counter() - started
            update_field("customer", "email", searchable=True)
        return taken

    def rss_mb(self) -> float:
        return _status_mb("VmRSS")

    def _get(self, url: str, found: bool = False, text: str = "") -> None:
        response = self.client.get(url)
        if response.status_code != 200 or (found and response.get_json() == []) \
                or (text and text not in response.get_data(as_text=True)):
            raise RuntimeError(f"GET {url}: {response.status_code} {response.get_data()[:80]}")


def _record(values: dict[str, t.Any], fields: tuple[str, ...]) -> dict[str, t.Any]:
    from admin_app.records import search_keys

    doc = {**values, "archived": False, "revision": 1}
    doc["search_keys"] = search_keys.keys_for("customer", doc, fields)
    return doc


def _median_ms(fn: t.Callable[[], t.Any], repeat: int) -> float:
    from timing import median_ms

    return median_ms(fn, repeat)


def _status_mb(field: str) -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(orgs: int, customers: int, repeat: int, cross: bool = True,
            saves: bool = False) -> dict[str, float]:
    """Seed a fresh store from worker A, then start worker B as gunicorn would and time
    it (with A's saves in between, if `cross`; B's form saves, if `saves` or `cross`)."""
    with tempfile.TemporaryDirectory() as tmp:
        a = Worker(tmp)
        started = time.perf_counter()
        count = a("seed", orgs, customers)
        seeded = time.perf_counter() - started
        cookie = a("sign_in")
        b = Worker(tmp, warm=True)
        try:
            out = {"records": count, "seed s": seeded, "warm s": b.started}
            b("use_session", cookie)
            out["first request"] = b("first_page_ms")
            b("page_ms", 2)  # warm
            out["page"] = b("page_ms", repeat)
            if customers or not orgs:  # a store of Orgs only has no customer to find
                out["search"] = b("search_ms", repeat)
            b("lookup_ms", 1)
            out["lookup"] = b("lookup_ms", repeat)
            if cross:
                after = []
                for _ in range(repeat):
                    a("save_one")
                    after.append(b("first_page_ms"))
                out["after save"] = sorted(after)[len(after) // 2]
            if cross or saves:
                b("form_save_ms", 2)  # the edit page's first answers
                out["save"] = b("form_save_ms", max(3 * repeat, 15))
            out["rss MB"] = b("rss_mb")
            if cross and customers:
                out["keys follow s"] = b("keys_follow_s")
            return out
        finally:
            a.stop()
            b.stop()


SIZES = {  # label: (Orgs, customers, a second process saving, form saves)
    "demo": (0, 0, True, True),
    "1k": (100, 900, False, True),
    "22k": (2_000, 20_000, True, True),
    "1k orgs": (1_000, 0, False, False),
    "100k orgs": (100_000, 0, False, False),
    "110k": (100_000, 10_000, True, True),
}
QUICK = ("demo", "1k", "22k", "1k orgs")
GOAL_FIRST = 3.0  # the first request of a new worker, against a warm page
GOAL_RSS_MB = 250
GOAL_SAVE = 1.2  # a save at 110,000 records, against one at 1,000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-Org sizes")
    args = parser.parse_args()
    results = {}
    for label, (orgs, customers, cross, saves) in SIZES.items():
        if args.quick and label not in QUICK:
            continue
        results[label] = got = measure(orgs, customers, args.repeat, cross, saves)
        print(f"{label:>10}: " + ", ".join(f"{k} {v:,.1f}" for k, v in got.items()), flush=True)

    def goal(name: str, value: float, limit: float, unit: str = "x") -> None:
        print(f"{name:<62} {value:7.2f}{unit:<3} (goal <= {limit:g}{unit}: "
              f"{'met' if value <= limit else 'NOT met'})")

    def ratio(name: str, top: str, bottom: str, key: str, limit: float,
              bottom_key: str | None = None) -> None:
        if top in results and bottom in results:
            goal(name, results[top][key] / results[bottom][bottom_key or key], limit)

    big = "110k" if "110k" in results else "22k"
    print()
    print(f"issue 20 (at {big}):")
    ratio(f"A. a new worker's first request / a warm page, {big}", big, big,
          "first request", GOAL_FIRST, "page")
    goal(f"B. worker memory after lists, search, lookups, saves, {big}",
         results[big]["rss MB"], GOAL_RSS_MB, " MB")
    ratio(f"C. a form save, {big} / 1k", big, "1k", "save", GOAL_SAVE)
    print("issue 14:")
    ratio("1. customer list page 1, 22k / demo", "22k", "demo", "page", 10)
    ratio("1. Org lookup per keystroke, 22k / demo", "22k", "demo", "lookup", 5)
    ratio("1. list page after another process's save, 22k / demo page", "22k", "demo",
          "after save", 15, "page")
    ratio("2. Org lookup, 100,000 / 1,000 orgs", "100k orgs", "1k orgs", "lookup", 5)


if __name__ == "__main__":
    main()
