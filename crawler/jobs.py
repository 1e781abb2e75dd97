"""A crawl job (`--job DIR`, HOSTPAIRS_JOB): a crawl that can be killed at any moment and resumed
by running the same command again.

The job directory holds `job.json` (the job's id and what it crawls) and `frontier.jsonl`, every
page the crawl scheduled, appended the moment it is scheduled (followed links before the visit
that found them is stored). Which of them are done is the database's word: every visit stored
for the job carries the job's id (`visits.job`), written in the visit's own transaction, so a
resumed crawl visits exactly the scheduled pages that have no visit yet — none twice, whatever
instant the crawl died at. A lock on the directory keeps two crawls from running one job at once.

The frontier survives the crawl process being killed; a crash of the whole machine may lose the
pages scheduled in its last moments (they are not synced to disk one by one)."""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any


class JobError(ValueError):
    """The job directory cannot be used (one-line message)."""


@dataclass(frozen=True)
class Scheduled:
    """A page the job scheduled: its URL, the seed group it was scheduled for, its link depth."""

    url: str
    seed_group: str | None
    depth: int


def job_crawls(targets: list[str], seeds: str, group: str, due: str, mode: str, depth: int,
               max_pages: int) -> dict[str, Any]:
    """What a job crawls, as its job.json keeps it: resuming asks for the same."""
    return {"targets": targets, "seeds": seeds, "group": group, "due": due, "mode": mode, "depth": depth,
            "max_pages": max_pages}


class CrawlJob:
    """An open job directory, locked for this process (see the module's docstring)."""

    def __init__(self, directory: Path, job_id: str, resumed: bool, lock: IO[str]):
        self.directory = directory
        self.id = job_id
        self.resumed = resumed
        self._lock = lock
        self._frontier = (directory / "frontier.jsonl").open("a+b")
        if self._frontier.tell():  # opened at its end: the next line must not run on from half a line
            self._frontier.seek(-1, os.SEEK_END)
            if self._frontier.read(1) != b"\n":
                self._frontier.write(b"\n")

    @classmethod
    def open(cls, directory: str | Path, crawls: dict[str, Any]) -> CrawlJob:
        """Start the job in `directory`, or resume the one there; `crawls` says what the job
        crawls (targets, seed groups, mode, budgets) and must be what it was when it started."""
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            lock = (directory / "lock").open("a+", encoding="utf-8")
        except (FileExistsError, NotADirectoryError):
            raise JobError(f"job {directory}: not a directory") from None
        except OSError as exc:
            raise JobError(f"job {directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "another process"
            lock.close()
            raise JobError(f"job {directory} is running in {owner}") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        try:
            job_id, resumed = cls._identify(directory / "job.json", crawls)
        except JobError:
            lock.close()
            raise
        return cls(directory, job_id, resumed, lock)

    @staticmethod
    def _identify(path: Path, crawls: dict[str, Any]) -> tuple[str, bool]:
        """(the job's id, whether it already existed)."""
        if not path.exists():
            job_id = uuid.uuid4().hex
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"id": job_id, "crawls": crawls}, indent=2) + "\n", encoding="utf-8")
            os.replace(temporary, path)  # whole or absent: a kill never leaves half a job.json
            return job_id, False
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            job_id, stored_crawls = stored["id"], stored["crawls"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JobError(f"job {path.parent}: {path.name} is not a hostpairs job ({exc})") from None
        if stored_crawls != crawls:
            changed = sorted(key for key in {*stored_crawls, *crawls} if stored_crawls.get(key) != crawls.get(key))
            raise JobError(f"job {path.parent} was started with other {', '.join(changed)}: "
                           "run the same command to resume it, or give a new job directory")
        return job_id, True

    def scheduled(self) -> list[Scheduled]:
        """Every page the job has scheduled so far, in order (a line the kill cut short is skipped)."""
        return list(_read_frontier(self.directory / "frontier.jsonl"))

    def schedule(self, pages: Iterable[Scheduled]) -> None:
        """Record pages as scheduled, before they are crawled."""
        lines = "".join(json.dumps(asdict(page)) + "\n" for page in pages)
        if lines:
            self._frontier.write(lines.encode("utf-8"))
            self._frontier.flush()

    def close(self) -> None:
        self._frontier.close()
        self._lock.close()


def _read_frontier(path: Path) -> Iterator[Scheduled]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                yield Scheduled(**json.loads(line))
            except (ValueError, TypeError):
                continue  # the last line, cut short by a kill
