"""What a load did, per kind, and what was wrong with each record that failed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")
KEPT_FAILURES = 1000  # enough to act on; the count is always exact


@dataclass(frozen=True)
class Failure:
    entity: str
    position: str
    key: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.position}" + (f" ({self.key})" if self.key else "")
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}"


@dataclass
class Report:
    dry_run: bool = False
    counts: Counter = field(default_factory=Counter)
    per_kind: dict[str, Counter] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failed_records: int = 0
    seconds: float = 0.0
    file_error: str | None = None
    atomic_refused: bool = False  # --atomic found failures, so nothing was written

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n
        self.per_kind.setdefault(kind, Counter())[outcome] += n

    def fail(self, failures: list[Failure]) -> None:
        self.failed_records += 1
        self.count(failures[0].entity, "failed")
        room = KEPT_FAILURES - len(self.failures)
        self.failures.extend(failures[:max(room, 0)])

    @property
    def total(self) -> int:
        return sum(self.counts[o] for o in OUTCOMES)

    @property
    def ok(self) -> bool:
        return self.file_error is None and self.failed_records == 0

    def summary(self) -> str:
        if self.file_error:
            return f"Nothing was loaded: {self.file_error}"
        rate = self.total / self.seconds if self.seconds else 0.0
        parts = ", ".join(f"{self.counts[o]} {o}" for o in OUTCOMES if o != "skipped"
                          or self.counts[o])
        verb = "Checked" if self.dry_run else "Loaded"
        line = (f"{verb} {self.total} records in {self.seconds:.1f} s "
                f"({rate:,.0f} records/s): {parts}.")
        if self.atomic_refused:
            line = (f"Checked {self.total} records: {self.failed_records} failed, so with "
                    f"--atomic nothing was written.")
        elif self.dry_run:
            line += " Dry run: nothing was written."
        elif self.total and self.counts["unchanged"] == self.total:
            line += " Nothing changed: every record was already loaded."
        return line

    def failure_lines(self, limit: int = 200) -> list[str]:
        lines = [str(f) for f in self.failures[:limit]]
        if len(self.failures) > limit or len(self.failures) >= KEPT_FAILURES:
            lines.append(f"… {self.failed_records} records failed in all; the first "
                         f"{min(limit, len(self.failures))} problems are shown.")
        return lines
