"""The password policy, one function that every way of setting a password asks.

Length and "not a known or guessable password" are what keep an online guesser out
(NIST SP 800-63B); composition rules (a digit, a capital) are not asked for. The common
passwords come from zxcvbn, a maintained package that ships the 30,000 most frequent
passwords of public leaks; its estimator also catches what the list alone would let
through at 12 characters and more: repeats ("aaaaaaaaaaaa"), keyboard runs
("qwertyuiopas"), sequences and common passwords with digits added ("password1234").

zxcvbn's word lists take ~14 MB once loaded, so they are loaded by the first password
checked, not by every web worker at start.
"""

from __future__ import annotations

import functools

from ..models.users import normal_email

MIN_LENGTH = 12
# Long enough for any passphrase; the bound keeps hashing and the estimator cheap.
MAX_LENGTH = 200
# zxcvbn scores 0-4; 0 and 1 mean fewer than a million guesses.
MIN_SCORE = 2


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def problems(password: str, email: str = "") -> list[str]:
    """What is wrong with `password` for the login `email`, in sentences; empty when it may
    be used."""
    if not isinstance(password, str) or not password:
        return ["Enter a password."]
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"A password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        return [f"A password may have at most {MAX_LENGTH} characters."]
    email = normal_email(email)
    own = {email, email.partition("@")[0]} - {""}
    if password.lower() in own:
        found.append("A password must not be the email address or its first part.")
    elif password.lower() in _common():
        found.append("That is one of the most common passwords.")
    elif len(password) >= MIN_LENGTH:
        from zxcvbn import zxcvbn

        verdict = zxcvbn(password, user_inputs=sorted(own))
        if verdict["score"] < MIN_SCORE:
            warning = verdict["feedback"]["warning"]
            found.append(f"That password is too easy to guess. {warning}".strip())
    return found
