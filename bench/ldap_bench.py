"""Directory reads against a real slapd holding 10,000 AD-shaped users.

Starts Debian's slapd with the test suite's fixture (`tests/servers.py`), adds the users
with one ldapadd, and times, as the ordinary sync user, in pages of 1,000:

- raw:    a bare ldap3 paged search of the same entries and attributes (the time to beat);
- reader: `admin_app.directory.reader.read` (the same search, each page's result and
          cookie checked, every entry turned into an `Entry` with its canonical key).

- first sync: a full sync into an empty embedded store, and an unchanged re-sync, each
  as a ratio of `raw` from the same run (targets 3x and 1.5x).

Not a test: it prints figures (its asserts only check that each run completed).

    .venv/bin/python bench/ldap_bench.py [--users 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # noqa: E402

from admin_app.directory.connectors import AD_ATTRIBUTE_MAP, DEFAULT_FILTER  # noqa: E402
from admin_app.directory.reader import read  # noqa: E402
from tests.servers import (  # noqa: E402
    LDAP_PEOPLE,
    LDAP_SYNC_DN,
    LDAP_SYNC_PASSWORD,
    Directory,
    ldap3_connection,
    slapd_server,
)

ATTRIBUTES = [*AD_ATTRIBUTE_MAP, "company", "userAccountControl", "objectGUID", "entryUUID"]


def raw_paged_search(directory: Directory) -> int:
    """The floor: ldap3's paged search, nothing checked, nothing converted."""
    with ldap3_connection(directory.url, LDAP_SYNC_DN, LDAP_SYNC_PASSWORD) as connection:
        return sum(1 for _ in connection.extend.standard.paged_search(
            LDAP_PEOPLE, DEFAULT_FILTER, attributes=ATTRIBUTES, paged_size=1000,
            generator=True))


def reader_read(directory: Directory) -> int:
    extract = read(directory.connector(receive_timeout=60))
    assert extract.complete, extract.reason
    return len(extract.entries)


def sync_timings(directory: Directory, raw_ms: float, repeat: int) -> None:
    """A full first sync into an empty embedded store (each in a store of its own), and
    an unchanged re-sync, against the raw search of the same run."""
    import mongoengine

    from admin_app.directory.sync import run
    from tests.conftest import make_app

    def first_sync() -> None:
        with tempfile.TemporaryDirectory() as folder:
            app = make_app(Path(folder), "embedded")
            try:
                with app.app_context():
                    result = run(directory.connector(receive_timeout=60))
                    assert result.status == "complete", result.reason
            finally:
                mongoengine.disconnect()

    first_ms = median_ms(first_sync, max(1, repeat // 2))
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), "embedded")
        try:
            with app.app_context():
                connector = directory.connector(receive_timeout=60)
                assert run(connector).status == "complete"

                def resync() -> None:
                    result = run(connector)
                    assert result.status == "complete" and not result.counts.get("updated")

                resync_ms = median_ms(resync, repeat)
        finally:
            mongoengine.disconnect()
    print(f"first sync (embedded):  {first_ms:8.0f} ms  {first_ms / raw_ms:.2f}x raw  "
          f"(target 3x)")
    print(f"unchanged re-sync:      {resync_ms:8.0f} ms  {resync_ms / raw_ms:.2f}x raw  "
          f"(target 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, \
            slapd_server(Path(folder) / "slapd") as directory:
        start = time.perf_counter()
        directory.add_users(args.users)
        print(f"slapd: {args.users:,} users added in {time.perf_counter() - start:.1f} s")
        assert raw_paged_search(directory) == reader_read(directory) == args.users
        raw_ms = median_ms(lambda: raw_paged_search(directory), args.repeat)
        reader_ms = median_ms(lambda: reader_read(directory), args.repeat)
        print(f"raw ldap3 paged search: {raw_ms:8.0f} ms  "
              f"({args.users / raw_ms * 1000:,.0f} entries/s)")
        print(f"reader.read:            {reader_ms:8.0f} ms  "
              f"({args.users / reader_ms * 1000:,.0f} entries/s)  "
              f"{reader_ms / raw_ms:.2f}x raw")
        sync_timings(directory, raw_ms, args.repeat)


if __name__ == "__main__":
    main()
