"""Bring logins made before look-alike addresses were refused up to date, once per store.

A login now carries its address in the normal form (`models.users.normal_email`) and
that address's confusable skeleton (`look_alike_key`) under a unique index, which is what
makes the look-alike check one indexed query. A store written by an older version has
logins without a skeleton, and perhaps addresses that are not in normal form (older
versions only lowered them), so that the sign-in, which looks the typed address up in
normal form, would miss them. `bring_up_to_date()` fixes both, oldest login first: it runs
in `flask setup` (what `make run` calls) and before any login is made, and once it has
run it costs one read of a marker. It is idempotent, and safe beside another process
doing the same (each write is conditional on the login still lacking its skeleton).

Two logins an older version let in that look the same cannot both hold the skeleton: the
older keeps it, the newer is left without and reported (by `flask setup`, and in the
log), so that an admin can disable whichever should not be there. Nothing is disabled
or renamed behind the admin's back, except an address whose normal form no other login
has, which is put in that form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import mongoengine as me

from .. import store
from ..models.users import User, look_alike_key, normal_email

log = logging.getLogger(__name__)

MARKER = "store_upkeep"  # the collection of one-document upkeep markers
DONE = {"_id": "logins", "look_alike_keys": 1}


@dataclass
class Upkeep:
    keyed: int = 0  # logins given their skeleton
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (stored, normal form)
    look_alikes: list[tuple[str, str]] = field(default_factory=list)  # (login, older one)

    def sentences(self) -> list[str]:
        """What was done, for `flask setup` to print (nothing when nothing was)."""
        said = []
        if self.keyed:
            said.append(f"Logins: {self.keyed} given the key that refuses look-alike "
                        f"addresses.")
        said += [f"Login {old} is now {new} (its address in normal form)."
                 for old, new in self.renamed]
        said += [f"Login {login} looks the same as the older login {older}: disable the "
                 f"one that should not be there." for login, older in self.look_alikes]
        return said


def done() -> bool:
    return store.database()[MARKER].find_one(DONE) is not None


def bring_up_to_date() -> Upkeep:
    """Give every login without a skeleton its normal address and its skeleton (see the
    module's docstring); what was done."""
    upkeep = Upkeep()
    if done():
        return upkeep
    # Once per store, over the logins only: an unindexed query, then never again.
    for user in list(User.objects(skeleton=None).only("email").order_by("id")):
        address = _normal_form(user, upkeep)
        key = look_alike_key(address)
        older = User.objects(skeleton=key, pk__ne=user.pk).only("email").first()
        if older is None:
            try:
                upkeep.keyed += User.objects(pk=user.pk, skeleton=None).update_one(
                    set__skeleton=key)
                continue
            except me.NotUniqueError:  # a look-alike got the key a moment ago
                older = User.objects(skeleton=key).only("email").first()
        if older is not None:
            upkeep.look_alikes.append((address, older.email))
            log.warning("Login %s looks the same as the older login %s.", address,
                        older.email)
    store.database()[MARKER].update_one({"_id": DONE["_id"]},
                                        {"$set": {"look_alike_keys": DONE["look_alike_keys"]}},
                                        upsert=True)
    return upkeep


def _normal_form(user: User, upkeep: Upkeep) -> str:
    """The login's address in normal form, stored so when no other login has that form."""
    address = normal_email(user.email)
    if address == user.email:
        return address
    if User.objects(email=address).only("email").first() is None:
        try:
            if User.objects(pk=user.pk, email=user.email).update_one(set__email=address):
                upkeep.renamed.append((user.email, address))
                return address
        except me.NotUniqueError:
            pass
    return user.email
