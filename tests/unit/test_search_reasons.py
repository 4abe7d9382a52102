"""A search reason must read like a reason (issue 15): each rule, with answers worked out by hand."""

from __future__ import annotations

import pytest

from dashboard.registry.search_reasons import reason_problem

ADVICE = "say what happened and why these cameras may help."


@pytest.mark.parametrize(
    "reason, problem",
    [
        ("aaaaaaaaaa", "Write the reason in words, at least 3 of them: " + ADVICE),  # one "word"
        ("Burglary 12345678", "Write the reason in words, at least 3 of them: " + ADVICE),  # digits are not words
        ("test test test test", "The reason repeats the same words; " + ADVICE),
        ("asdf asdf asdf", "The reason repeats the same words; " + ADVICE),
        ("xyz abc def", "The reason has no word of 4 or more letters; " + ADVICE),
        ("abab baba abba", "The reason uses fewer than 6 different letters; " + ADVICE),  # three different words
        ("qwerty burglary outside", "'qwerty' looks like keyboard mash, not a word; " + ADVICE),
        ("burglary outside lkjh", "'lkjh' looks like keyboard mash, not a word; " + ADVICE),
        ("sdkjfh sdkfj burglary", "'sdkjfh' looks like keyboard mash, not a word; " + ADVICE),
    ],
)
def test_junk_reasons_are_refused_with_the_rule_they_break(reason, problem):
    assert reason_problem(reason) == problem


@pytest.mark.parametrize(
    "reason",
    [
        "Burglary at 1 High St, identify suspect vehicle",
        "Burglary reported at a house in this street overnight",
        "Assault outside pub",
        "Theft from car",
        "ASB youths drinking in park",
        "Rhythm club fight, witness saw CCTV",  # 'rhythm' has a y: not mash
        "Vol à l'étalage au magasin",  # letters outside English count as letters
    ],
)
def test_honest_reasons_pass(reason):
    assert reason_problem(reason) is None
