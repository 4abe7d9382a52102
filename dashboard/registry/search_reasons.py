"""Whether an officer's reason for a search reads like a reason: a few simple, explainable rules.

A search reason is what the auditor reads to judge whether a search was justified (DPA 2018 s.62),
so one that cannot say anything is refused before the search runs. The rules are deliberately
plain, each with its own message, so an officer sees at once what to fix and an auditor can
check them by eye:

1. at least ``MIN_WORDS`` words of two or more letters;
2. at least ``MIN_DISTINCT_WORDS`` different words (not one word repeated);
3. at least one word of ``MIN_LONG_WORD`` or more letters;
4. at least ``MIN_LETTERS`` different letters (not one character repeated);
5. no keyboard mash: no word that runs along a keyboard row (``qwer``, ``asdf``, ``lkjh``: four
   letters or more) and no word of ``MASH_MIN_LETTERS`` or more letters without a vowel
   (a, e, i, o, u or y).

The softer judgement, "says nothing but stock words" ("enquiries", "crime investigation"), stays
an auditor's flag (``security.audit_flags``, rule ``vague_reason``), not a refusal.

>>> reason_problem("aaaaaaaaaa") is not None, reason_problem("asdf asdf asdf") is not None
(True, True)
>>> reason_problem("Burglary at 1 High St, suspect vehicle seen leaving") is None
True
"""

from __future__ import annotations

import re

MIN_WORDS = 3
MIN_DISTINCT_WORDS = 3
MIN_LONG_WORD = 4
MIN_LETTERS = 6
MASH_RUN = 4
MASH_MIN_LETTERS = 6
VOWELS = frozenset("aeiouy")
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_WORD = re.compile(r"[^\W\d_]{2,}")
ADVICE = "say what happened and why these cameras may help"


def _keyboard_run(word: str) -> bool:
    """Whether ``word`` (lower case) is a run of ``MASH_RUN`` or more neighbouring keys of one row.

    >>> _keyboard_run("qwerty"), _keyboard_run("lkjh"), _keyboard_run("were")
    (True, True, False)
    """
    if len(word) < MASH_RUN:
        return False
    return any(word in row or word in row[::-1] for row in KEYBOARD_ROWS)


def reason_problem(reason: str) -> str | None:
    """Why ``reason`` is not acceptable as a search reason (one sentence), or None when it is."""
    text = " ".join(str(reason or "").split())
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return f"Write the reason in words, at least {MIN_WORDS} of them: {ADVICE}."
    if len(set(words)) < MIN_DISTINCT_WORDS:
        return f"The reason repeats the same words; {ADVICE}."
    if max(len(w) for w in words) < MIN_LONG_WORD:
        return f"The reason has no word of {MIN_LONG_WORD} or more letters; {ADVICE}."
    if len(set("".join(words))) < MIN_LETTERS:
        return f"The reason uses fewer than {MIN_LETTERS} different letters; {ADVICE}."
    mash = [w for w in words if _keyboard_run(w) or (len(w) >= MASH_MIN_LETTERS and not VOWELS & set(w))]
    if mash:
        return f"'{mash[0]}' looks like keyboard mash, not a word; {ADVICE}."
    return None
