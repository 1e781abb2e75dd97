"""`hostpairs import`: bring history in from files in PassiveTotal's shapes."""

from __future__ import annotations

import csv
import gc
import gzip
import io
import itertools
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Any

import typer

from hostpairs.cli.common import DbOption, engine_for, err, fail, out

app = typer.Typer()

BATCH = 200_000
"""Records merged per statement (at 1 M pairs, 200,000 took 11% less time than 50,000 on SQLite and
14% less on PostgreSQL: bench/RESULTS.md)."""
COMMIT_EVERY = 600_000
"""Records per transaction without --strict (with it, one transaction: all or nothing). Fewer
commits write each index page fewer times."""
SHOWN_REJECTS = 20


class DatasetChoice(str, Enum):
    pairs = "pairs"
    resolutions = "resolutions"
    trackers = "trackers"
    components = "components"
    cookies = "cookies"


class Rejected(ValueError):
    """A record that cannot be imported, with where it is in its file."""


@dataclass
class Tally:
    """What an import did so far."""

    read: int = 0
    skipped: int = 0
    rejected: int = 0
    first_rejects: list[str] = field(default_factory=list)

    def reject(self, line: str) -> None:
        self.rejected += 1
        if len(self.first_rejects) < SHOWN_REJECTS:
            self.first_rejects.append(line)


class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (the progress bar's position)."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.position = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self.position += count or 0
        return count or 0


def records(path: Path, binary: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """(where, record) of every record in a file: a saved API response (`{"results": [...]}`) or a
    JSON array of records; JSON lines, each a record or a saved response; or CSV with
    PassiveTotal's field names as its header. A line that is not JSON comes as a Rejected."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    first = text.readline()
    rest: Iterator[str] = iter(text)
    start = first.lstrip()
    if start.startswith("["):
        yield from _whole(path, first + text.read())
    elif start.startswith("{"):
        try:
            head = json.loads(first)
        except json.JSONDecodeError:  # an object over many lines: one saved response
            yield from _whole(path, first + text.read())
            return
        yield from _line_records(f"{path}:1", head)
        for number, line in enumerate(rest, start=2):
            if line.strip():
                try:
                    yield from _line_records(f"{path}:{number}", json.loads(line))
                except json.JSONDecodeError as exc:
                    yield f"{path}:{number}", Rejected(f"not JSON: {exc.msg}")
    elif start:
        rows = csv.reader(itertools.chain([first], rest))
        header = [name.strip() for name in next(rows)]
        for row in rows:
            where = f"{path}:{rows.line_num}"
            if len(row) != len(header):
                if any(cell.strip() for cell in row):
                    yield where, Rejected(f"{len(row)} fields where the header has {len(header)}")
                continue
            yield where, dict(zip(header, row))


def _whole(path: Path, content: str) -> Iterator[tuple[str, Any]]:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise Rejected(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    results = document.get("results") if isinstance(document, dict) else document
    if not isinstance(results, list):
        raise Rejected(f"{path}: a JSON document without a list of records (\"results\")")
    for number, record in enumerate(results, start=1):
        yield f"{path}: record {number}", record


def _line_records(where: str, document: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        for number, record in enumerate(document["results"], start=1):
            yield f"{where}: record {number}", record
    else:
        yield where, document


def _opened(path: Path) -> tuple[CountingReader, IO[bytes]]:
    """The file as counted bytes (for progress) and as its content (gzip-decompressed if it is)."""
    try:
        counted = CountingReader(path.open("rb"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    content = io.BufferedReader(counted)
    if content.peek(2)[:2] == b"\x1f\x8b":
        return counted, gzip.GzipFile(fileobj=content)  # type: ignore[return-value]
    return counted, content


def parsed(path: Path, content: IO[bytes], dataset: str | None, strict: bool,
           tally: Tally) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(dataset, rows) batches of a file's records, BATCH at a time; malformed records are
    tallied, or with `strict` raise Rejected."""
    from hostpairs.api.passivetotal import dataset_of, imported_row

    batch: list[dict[str, Any]] = []
    try:
        for where, record in records(path, content):
            tally.read += 1
            try:
                if isinstance(record, Rejected):
                    raise record
                if dataset is None and isinstance(record, dict):
                    dataset = dataset_of(record)
                if dataset is None:
                    raise Rejected("not a record of any dataset (say which with --dataset)")
                row = imported_row(dataset, record)
            except ValueError as exc:
                if strict:
                    raise Rejected(f"{where}: {exc}") from None
                tally.reject(f"{where}: {exc}")
                continue
            if row is None:
                tally.skipped += 1
            else:
                batch.append(row)
                if len(batch) >= BATCH:
                    yield dataset, batch
                    batch = []
    except UnicodeDecodeError as exc:
        raise Rejected(f"{path}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:  # a truncated or corrupt gzip file
        raise Rejected(f"{path}: {exc}") from None
    if batch and dataset is not None:
        yield dataset, batch


def ahead(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """`items`, produced by a thread of their own up to `depth` ahead: the file is parsed and staged while the
    database merges the batch before (both drivers release the GIL while the database works)."""
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    done = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not done.is_set():
                    try:
                        ready.put((True, item), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if done.is_set():
                    return
            ready.put((False, None))
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, which raises it)
            ready.put((False, exc))

    thread = threading.Thread(target=produce, name="import-parser", daemon=True)
    thread.start()
    try:
        while True:
            more, item = ready.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        done.set()


@app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="JSON, JSON lines or CSV files (gzip-compressed too)."),
    dataset: DatasetChoice | None = typer.Option(None, help="What the files hold (default: told by each file's first record)."),
    source: str | None = typer.Option(None, help="The name imported records are marked with (default: the file's name)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first malformed record and import nothing."),
    bulk: bool = typer.Option(False, "--bulk", help=(
        "For a first import of a large history: build the look-up indexes once at the end, all in one "
        "transaction (a kill leaves the store as it was; look-ups and crawls of those data sets wait until it ends).")),
    db: str | None = DbOption,
) -> None:
    """Import host pairs, resolutions, trackers, components or cookies in PassiveTotal's shapes.
    First and last seen are widened, never narrowed; importing a file again changes nothing."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
    from sqlalchemy.exc import SQLAlchemyError

    from hostpairs.storage.db import error_reason
    from hostpairs.storage.imports import DATASETS, Importer, bulk_load, staged

    for path in files:
        if not path.is_file():
            fail(f"{path}: not a file")
    if source is not None and not 0 < len(source.strip()) <= 255:
        fail("--source: give a name of 1 to 255 characters")
    engine = engine_for(db)
    started = time.monotonic()
    # Millions of short-lived records, none in a reference cycle: collecting every 700 allocations
    # (the default) rescanned the live batches over and over, half the time of staging a batch.
    gc.set_threshold(200_000, 20, 1000)
    tally = Tally()
    written = uncommitted = 0
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                        console=err, transient=True, disable=not err.is_terminal)
    try:
        with progress, engine.connect() as connection:
            bulk_load(connection)
            connection.commit()
            importer = Importer(connection, bulk)
            transaction = connection.begin()
            for path in files:
                reader, content = _opened(path)
                task = progress.add_task(path.name, total=path.stat().st_size)
                label = (source or path.name).strip()[:255]
                try:
                    batches = parsed(path, content, dataset.value if dataset else None, strict, tally)
                    for count, batch in ahead((len(rows), staged(engine.dialect, DATASETS[chosen], rows))
                                              for chosen, rows in batches):
                        written += importer.merge(batch, label)
                        uncommitted += count
                        if not (strict or bulk) and uncommitted >= COMMIT_EVERY:
                            importer.count_pairs()
                            transaction.commit()
                            transaction, uncommitted = connection.begin(), 0
                        progress.update(task, completed=reader.position)
                finally:
                    content.close()
            importer.build_indexes()
            importer.count_pairs()
            transaction.commit()
    except Rejected as exc:
        fail(f"{exc}" + (" (--strict: nothing imported)" if strict else " (the records before it are imported)"))
    except SQLAlchemyError as exc:
        fail(f"the import stopped: {error_reason(exc)}" + ("" if strict else " (the batches before it are stored)"))
    for line in tally.first_rejects:
        err.print(f"rejected {line}", markup=False, soft_wrap=True)
    if tally.rejected > len(tally.first_rejects):
        err.print(f"… and {tally.rejected - len(tally.first_rejects):,} more rejected records", markup=False)
    seconds = time.monotonic() - started
    merged = tally.read - tally.rejected - tally.skipped
    out.print(f"imported {merged:,} record{'s' * (merged != 1)} from {len(files)} file{'s' * (len(files) != 1)}: "
              f"{written:,} new or widened, "
              f"{merged - written:,} already known"
              + (f", {tally.skipped:,} skipped (not host → IP)" if tally.skipped else "")
              + (f", {tally.rejected:,} rejected" if tally.rejected else "")
              + f" in {seconds:.1f} s ({merged / max(seconds, 1e-9):,.0f} records/s)", markup=False)
    if tally.rejected:
        raise typer.Exit(1)
