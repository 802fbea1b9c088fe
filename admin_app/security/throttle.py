"""Failed sign-ins counted per account and per client address, so that guessing costs time.

Each area (the admin, the portal) counts on its own. After a few failures the next attempt
must wait, and the wait doubles with every further failure; after more, the account (or
the address) is locked for a while, during which even the right password does not sign
in. An address has more room than an account (an office behind one address), but it stops
one client from trying one password against many accounts.

The counts live in MongoDB (`signin_failures`), so every worker and machine sees the same
ones; a TTL index drops a count once it is forgotten. An unknown email is counted exactly
like a known one: the answer must not tell whether a login exists.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import mongoengine as me
from flask import current_app

from ..models.kept import now


class SignInFailures(me.Document):
    meta = {"collection": "signin_failures",
            "indexes": [{"fields": ["expires"], "expireAfterSeconds": 0}]}

    # "<area>|account|<email>" or "<area>|address|<client address>"
    key = me.StringField(primary_key=True)
    failures = me.IntField(default=0)
    pending = me.IntField(default=0)  # attempts being checked right now
    last = me.DateTimeField()
    locked_until = me.DateTimeField(null=True)
    expires = me.DateTimeField()  # when the store may drop the count (after any lock)


@dataclass(frozen=True)
class Rule:
    free: int  # failures before attempts must wait
    lock_after: int  # failures that lock


@dataclass(frozen=True)
class Failure:
    """What one more failure did: the locks it began ("account", "address"), and how long
    the next attempt must wait."""

    locked: tuple[str, ...]
    wait: int


def rules() -> dict[str, Rule]:
    config = current_app.config
    return {"account": Rule(config["SIGNIN_FREE_FAILURES"], config["SIGNIN_LOCK_FAILURES"]),
            "address": Rule(config["SIGNIN_ADDRESS_FREE_FAILURES"],
                            config["SIGNIN_ADDRESS_LOCK_FAILURES"])}


def counted_as(address: str) -> str:
    """The client address failures are counted by. An IPv6 client by its /64: one
    subscriber gets a whole /64 and can pick a new address for every guess."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(area: str, email: str, address: str) -> dict[str, str]:
    return {"account": f"{area}|account|{email}",
            "address": f"{area}|address|{counted_as(address)}"}


def lock_minutes() -> int | float:
    return current_app.config["SIGNIN_LOCK_MINUTES"]


def _lock_time() -> timedelta:
    return timedelta(minutes=lock_minutes())


def _forgotten(entry: SignInFailures, moment: datetime) -> bool:
    """A lock that has run out, or failures that stopped a lock's length ago, start afresh."""
    if entry.locked_until is not None:
        return entry.locked_until <= moment
    return entry.last is None or entry.last + _lock_time() <= moment


def _wait(entry: SignInFailures | None, rule: Rule, moment: datetime) -> int:
    """Seconds until the next attempt may be made (0: now)."""
    if entry is None or _forgotten(entry, moment):
        return 0
    count = entry.failures + max(entry.pending, 0)
    if entry.locked_until is not None:
        until = entry.locked_until
    elif count >= rule.lock_after:
        return 1  # enough attempts in flight to lock: they settle first
    elif count >= rule.free:
        # Capped at the lock: the doubling cannot make the wait longer than a lock.
        exponent = min(count - rule.free, 32)
        delay = min(current_app.config["SIGNIN_FIRST_DELAY_SECONDS"] * 2 ** exponent,
                    _lock_time().total_seconds())
        until = entry.last + timedelta(seconds=delay)
        if entry.pending > 0:  # past the free tries, one in flight settles first
            until = max(until, moment + timedelta(seconds=1))
    else:
        return 0
    return max(0, math.ceil((until - moment).total_seconds()))


def wait(area: str, email: str, address: str) -> int:
    """Seconds this account and address must still wait before an attempt is heard (0: none)."""
    moment = now()
    keys = _keys(area, email, address)
    entries = {entry.key: entry for entry in SignInFailures.objects(key__in=list(keys.values()))}
    return max(_wait(entries.get(key), rules()[kind], moment) for kind, key in keys.items())


def reserve(area: str, email: str, address: str) -> int:
    """Ask to be heard: the seconds still to wait (nothing is counted), or 0, and then the
    attempt is counted as in flight until `failed` or `succeeded` settles it.

    The attempt is counted first and judged by the count as it stood just before (one
    atomic find-and-modify per key, an upsert on the key as `_id`), so of a burst of
    simultaneous attempts each sees the ones counted before it, on every store and with
    no lock: in-flight attempts count as failures for the wait. A refused attempt is
    uncounted.
    """
    moment = now()
    keys = _keys(area, email, address)
    for entry in SignInFailures.objects(key__in=list(keys.values())):
        if _forgotten(entry, moment):  # unless a failure has just renewed it
            SignInFailures.objects(key=entry.key, last=entry.last).delete()
    before = {kind: SignInFailures.objects(key=key).modify(
                  upsert=True, new=False, inc__pending=1, set_on_insert__last=moment,
                  set__expires=moment + 2 * _lock_time())
              for kind, key in keys.items()}
    seconds = max(_wait(before[kind], rules()[kind], moment) for kind in keys)
    if seconds:
        for key in keys.values():
            SignInFailures.objects(key=key).update_one(inc__pending=-1)
    return seconds


def failed(area: str, email: str, address: str) -> Failure:
    """Settle a reserved attempt as a failure; say which locks it began."""
    moment = now()
    locked = []
    for kind, key in _keys(area, email, address).items():
        # One find-and-modify returns the count this failure made; the lock is then set
        # only where none is, so it begins (and is audited) once.
        entry = SignInFailures.objects(key=key).modify(
            upsert=True, new=True, inc__failures=1, inc__pending=-1, set__last=moment,
            set__expires=moment + 2 * _lock_time())
        if entry.failures >= rules()[kind].lock_after and entry.locked_until is None \
                and SignInFailures.objects(key=key, locked_until=None).update_one(
                    set__locked_until=moment + _lock_time()) == 1:
            locked.append(kind)
    return Failure(locked=tuple(locked), wait=wait(area, email, address))


def succeeded(area: str, email: str, address: str) -> None:
    """Settle a reserved attempt as a success: the account's count starts again. The
    address's failures stay, or one account of the attacker's own would wipe the count of
    their guesses at the others."""
    keys = _keys(area, email, address)
    SignInFailures.objects(key=keys["account"]).delete()
    SignInFailures.objects(key=keys["address"]).update_one(inc__pending=-1)
