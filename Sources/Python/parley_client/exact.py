"""Exact non-negative numbers as Parley writes them (epsilon, delta, budgets): a decimal
(`"0.25"`) or a fraction (`"1/3"`), read into `fractions.Fraction` and written back as the CLI
writes a `Rational` (an integer, a terminating decimal, else `n/d`)."""
from __future__ import annotations

import re
from fractions import Fraction


def parse_epsilon(text: str) -> Fraction:
    """An exact non-negative number: a decimal (`"0.25"`) or a fraction (`"1/3"`)."""
    m = re.fullmatch(r"(\d{1,20})/(\d{1,20})", text)
    if m:
        if int(m.group(2)) == 0:
            raise ValueError(f"{text[:64]!r}: a zero denominator")
        return Fraction(int(m.group(1)), int(m.group(2)))
    if re.fullmatch(r"\d{1,20}(\.\d{1,38})?", text):
        return Fraction(text)
    raise ValueError(f"{text[:64]!r}: not an exact decimal or fraction")


def epsilon_text(x: Fraction) -> str:
    """As the CLI writes an exact number: an integer, a terminating decimal, else `n/d`."""
    if x.denominator == 1:
        return str(x.numerator)
    rest, twos, fives = x.denominator, 0, 0
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    digits = max(twos, fives)
    if rest != 1 or digits > 38:
        return f"{x.numerator}/{x.denominator}"
    scaled = x.numerator * 10 ** digits // x.denominator
    return f"{scaled // 10 ** digits}.{scaled % 10 ** digits:0{digits}d}"
