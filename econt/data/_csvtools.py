"""Careful CSV reading shared by the readers (UTF-8 BOM and quoted cells accepted; ``;``/tab
separators refused with the fix): every problem is reported with file, line,
column and fix; with ``skip_bad_rows`` bad rows are dropped *and counted by reason*."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from econt.errors import DataError


@dataclass
class SkipReport:
    """What a reader skipped under ``skip_bad_rows=True`` (reason → count, and examples)."""

    path: str = ""
    rows_read: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return int(sum(self.skipped.values()))

    def add(self, reason: str, message: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < 5:
            self.examples.append(message)

    def text(self) -> str:
        if not self.n_skipped:
            return f"{self.path}: {self.rows_read} rows read, none skipped."
        why = ", ".join(f"{n} {r}" for r, n in self.skipped.most_common())
        return (f"{self.path}: skipped {self.n_skipped} of {self.rows_read} rows ({why}). "
                f"First: {self.examples[0]}")


def read_lines(path: str | Path, what: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header cells and (line number, cells) of the data rows; blank lines are errors too."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Give the path of an existing {what} file.")
    try:
        text = path.read_text()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text CSV file ({exc}). Give a {what} CSV file.") from exc
    if text.startswith("\ufeff"):
        # a UTF-8 byte-order mark (Excel "CSV UTF-8"): accepted explicitly, it is not part of the header
        text = text[1:]
    lines = text.splitlines()
    if not lines or not any(s.strip() for s in lines):
        raise DataError(f"{path}: file is empty. A {what} file needs a header line and at least one data row.")
    first = lines[0]
    if "," not in first and (";" in first or "\t" in first):
        sep = "';'" if ";" in first else "tab"
        raise DataError(f"{path}: line 1 (header) is separated by {sep}, not commas. Save the {what} file "
                        "as comma-separated CSV (e.g. sed 's/;/,/g').")
    header = [c.strip().strip('"').strip("'").strip() for c in first.split(",")]
    rows = []
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            if i == len(lines) and i > 2:
                continue  # a trailing empty line is a line ending, not a row
            rows.append((i, []))
            continue
        rows.append((i, [c.strip().strip('"').strip() for c in line.split(",")]))
    if not rows:
        raise DataError(f"{path}: header only, no data rows. A {what} file needs at least one data row.")
    return header, rows


def fail_or_skip(report: SkipReport | None, skip: bool, reason: str, message: str) -> None:
    """Raise a DataError with ``message`` unless skipping, in which case count the row."""
    if not skip:
        raise DataError(message + " (Or pass --skip-bad-rows / skip_bad_rows=True to drop such rows and get a count.)")
    if report is not None:
        report.add(reason, message)


def finish(report: SkipReport, path: Path, n_kept: int) -> None:
    """Record the file in ``report`` (the caller prints ``report.text()`` once); refuse an empty result."""
    report.path = str(path)
    if n_kept == 0:
        raise DataError(f"{path}: no valid rows left ({report.text()}). Fix the file.")
