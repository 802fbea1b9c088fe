"""The password policy every way of setting a password asks (`security.passwords.problems`)."""

import pytest

from admin_app.security.passwords import problems


@pytest.mark.parametrize("password", ["correct horse battery staple", "s3cret-pass-phrase",
                                      "Tulip window 42 river", "x" * 11 + "Q7!longer"])
def test_long_uncommon_passwords_are_accepted(password):
    assert problems(password, "ann@example.com") == []


def test_a_short_password_is_refused_whatever_it_is():
    assert problems("Zq8!vR2#kL", "ann@example.com") \
        == ["A password must have at least 12 characters."]


@pytest.mark.parametrize("password", ["password1234", "PASSWORD1234", "1qaz2wsx3edc",
                                      "qwerty123456", "leavemealone"])
def test_passwords_on_the_common_list_are_refused_in_any_case(password):
    assert problems(password) == ["That is one of the most common passwords."]


@pytest.mark.parametrize("password", ["annabelle.smith@example.com", "Annabelle.Smith"])
def test_the_email_or_its_first_part_is_refused(password):
    assert problems(password, "annabelle.smith@example.com") \
        == ["A password must not be the email address or its first part."]


@pytest.mark.parametrize("password, warning", [
    ("aaaaaaaaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
    ("abcdefghijklmnop", 'Sequences like "abc" or "6543" are easy to guess.'),
    ("letmeinletmein", "Repeats like \"abcabcabc\" are only slightly harder to guess"),
])
def test_guessable_patterns_of_twelve_characters_or_more_are_refused(password, warning):
    found = problems(password)
    assert len(found) == 1 and found[0].startswith("That password is too easy to guess.")
    assert warning in found[0]


def test_empty_too_long_and_non_text_passwords_are_refused():
    assert problems("") == ["Enter a password."]
    assert problems({"$ne": None}) == ["Enter a password."]  # type: ignore[arg-type]
    assert problems("long passphrase " * 20) == ["A password may have at most 200 characters."]
