"""The worker's report on an upload's identifier columns (`email`, `phone`, `sha256_email`,
`sha256_phone`; docs/privacy.md "Identifier columns", docs/formats.md section 4a): rows whose
identifier fields it could not use, numbered as CSV errors number rows (the header is row 1),
and why, per column. Never a field's contents.

The report is relayed by the host outside the worker's signed entry (which carries the rows
kept): it is for the provider's data cleaning, not evidence, and is read as such, with every
count capped as the Swift `IdentifierSummary(cbor:)` caps it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

from .errors import ParleyError

MAX_LISTED_ROWS = 1000    # most row numbers a summary lists (its counts are complete)
MAX_COLUMNS = 64          # most columns, and most reasons per column, a summary may name
_FIELDS = {"unusable_rows", "dropped_rows", "row_numbers", "problems"}
REASONS = ("empty", "not_an_email", "not_a_phone_number", "not_sha256_hex")


class UnusableIdentifiers(UserWarning):
    """Some rows of an upload have identifier fields the worker could not use (they never match)."""


@dataclass(frozen=True)
class IdentifierSummary:
    """What the worker reports about an upload's identifier fields (UNTRUSTED: relayed by the host)."""
    unusable_rows: int        # rows with at least one unusable identifier field
    dropped_rows: int         # of those, rows with no usable identifier at all: never matched, left out
    row_numbers: list[int]    # the first 1000 unusable rows, ascending; the header is row 1
    problems: dict            # column -> reason (`empty`, `not_an_email`, ...) -> fields

    @staticmethod
    def parse(value) -> "IdentifierSummary":
        """Reads the upload answer's `identifiers` object; raises ParleyError (`malformed`)."""
        def bad(why: str) -> ParleyError:
            return ParleyError("malformed", f"the upload answer's identifiers {why}")

        def count(v) -> bool:
            return type(v) is int and 0 <= v < 1 << 64

        if not isinstance(value, dict) or set(value) != _FIELDS:
            raise bad("must have exactly unusable_rows, dropped_rows, row_numbers, problems")
        unusable, dropped, rows, problems = (value[k] for k in ("unusable_rows", "dropped_rows", "row_numbers", "problems"))
        if not count(unusable) or not count(dropped) or not isinstance(rows, list) or not all(count(r) for r in rows):
            raise bad("has a count that is not an unsigned integer")
        if dropped > unusable or len(rows) > min(unusable, MAX_LISTED_ROWS):
            raise bad(f"lists more rows than it counts, or more than {MAX_LISTED_ROWS}")
        if not isinstance(problems, dict) or len(problems) > MAX_COLUMNS:
            raise bad("problems is not a map of at most 64 columns")
        out = {}
        for column, reasons in problems.items():
            if not isinstance(column, str) or not isinstance(reasons, dict) or len(reasons) > MAX_COLUMNS \
                    or not all(isinstance(r, str) and count(n) for r, n in reasons.items()):
                raise bad("problems must map each column to reasons and counts")
            out[column] = dict(reasons)
        return IdentifierSummary(unusable, dropped, list(rows), out)

    @property
    def json(self) -> dict:
        """The upload answer's `identifiers` object."""
        return {"unusable_rows": self.unusable_rows, "dropped_rows": self.dropped_rows,
                "row_numbers": list(self.row_numbers), "problems": {c: dict(r) for c, r in self.problems.items()}}

    def describe(self) -> str:
        """The note `parley upload` prints: counts per column and reason, the first 20 rows."""
        columns = "; ".join(f"{c}: " + ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(self.problems[c].items()))
                            for c in sorted(self.problems))
        shown = ", ".join(str(r) for r in self.row_numbers[:20])
        more = f" (the first 20 of {self.unusable_rows})" if self.unusable_rows > 20 else ""
        return (f"note: {self.unusable_rows} rows have identifiers the worker could not use and never match on them; "
                f"{self.dropped_rows} of them had no usable identifier at all and were left out.\n"
                f"  {columns}\n  rows: {shown}{more}")

    def warn(self, stacklevel: int = 3) -> None:
        """Warns (UnusableIdentifiers) with `describe()` when some rows were unusable."""
        if self.unusable_rows > 0:
            warnings.warn(self.describe(), UnusableIdentifiers, stacklevel=stacklevel)
