"""Every command of the CLI, given malformed arguments, answers one line on stderr and exits 2.

The commands are walked from the Typer app itself, so a new command or option cannot be
forgotten: `test_every_command_has_bad_inputs` fails for a command without hand-written cases,
and every option taking a number or a choice, every required argument and every --db option get
their malformed cases derived from the command's own parameters.

Malformed means: URLs, dates and hosts that are not, files that are not what they claim (a PNG or
a directory as seed file, a SQLite database as seed list), a seed file with a syntax error, a
database file that cannot be read (random bytes, a directory, a PNG). Commands that would start
something long-running on good input (crawl, watch, serve, demo) only get input that must be
refused before anything starts, and always in static mode with every host unresolvable, so no
browser and no network either way.

Cases marked with `bug=` hold a bug found here (pending: the file named must be fixed); they are
strict xfails, so a fix shows up as XPASS-strict and the marker must go.

Each case is a process of its own running `main()` as `python -m hostpairs` does, in a working
directory of its own; to keep some 160 cases near ten seconds they are forked from one driver that
has done the imports (see DRIVER). HOSTPAIRS_BAD_INPUT_SUBPROCESS=1 runs one real
`python -m hostpairs` per case instead (a few minutes): the outcomes are the same."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import typer.main

from hostpairs.cli import app
from hostpairs.storage.db import open_database
from tests.conftest import ROOT

# --- the commands, from the app ------------------------------------------------------------------


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """(name, command) of every command a user can run: leaves, and groups that run themselves."""
    if isinstance(command, click.Group):
        if path and command.invoke_without_command:
            yield " ".join(path), command
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))
    else:
        yield " ".join(path), command


COMMANDS = dict(walk(typer.main.get_command(app)))

# --- the files a case may name (in its working directory) ---------------------------------------


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00")) + chunk(b"IEND", b""))


VALID_SEEDS = '[groups.bank]\nurls = ["https://bad-input.invalid/"]\ninterval = "6h"\n'


def make_files(directory: Path) -> None:
    (directory / "garbage.db").write_bytes(random.Random(0).randbytes(8192))
    (directory / "directory.db").mkdir()
    (directory / "picture.db").write_bytes(png())
    (directory / "picture.png").write_bytes(png())
    (directory / "seeds-directory").mkdir()
    (directory / "valid.toml").write_text(VALID_SEEDS)
    (directory / "syntax-error.toml").write_text('[groups.bank]\nurls = ["https://www.demo-bank.com/"\ninterval = "6h"\n')
    (directory / "empty.toml").write_text("")
    (directory / "nul.toml").write_bytes(b'[groups.a]\x00\nurls = ["https://a.example/"]\ninterval = "6h"\n')
    (directory / "not-toml.toml").write_text("this is a plain seed list\nhttps://a.example/\n")
    (directory / "huge-interval.toml").write_text(VALID_SEEDS.replace('"6h"', '"99999999999999999999w"'))
    (directory / "bad-line.txt").write_text("# partners\nhttps://a.example/\nftp://files.example.org/\n")
    (directory / "seeds.txt").write_text("https://bad-input.invalid/\n")
    with sqlite3.connect(directory / "other.sqlite") as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    (directory / "seeds.toml.db").write_text(VALID_SEEDS)  # a seed file named as a database


# --- the cases -----------------------------------------------------------------------------------

# Keeps crawl and watch from reaching anything, should a case ever get past the checks.
HARMLESS = ("--mode", "static", "--host-rules", "MAP * ~NOTFOUND", "--page-timeout", "1", "--dwell", "0")
# What a command needs to get as far as opening its database.
GOOD_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "crawl": ("https://bad-input.invalid/", *HARMLESS),
    "watch": ("valid.toml", *HARMLESS),
    "lookup": ("shop.example",), "resolutions": ("shop.example",), "visit": ("https://shop.example/",),
    "trackers": ("shop.example",), "cookies": ("shop.example",), "components": ("shop.example",),
    "worker": ("--frontier", "redis://127.0.0.1:6379/15", *HARMLESS),  # (a ping: nothing is written there)
    "import": ("valid.toml",), "prune": ("--keep-visits", "5"), "serve": ("--port", "0"), "demo": ("--dwell", "0"), "seeds status": (), "alerts": (), "alerts ack": ("1",),
    "users add": ("someone@example.com",), "users list": (), "users revoke": ("someone@example.com",),
    "export": ("pairs", "--format", "csv"), "reprocess": (),
    "scripts show": ("https://shop.example/checkout",), "scripts list": (), "scripts report": ("--group", "checkout"),
    "scripts authorize": ("shop.example", "--justification", "needed", "--by", "ana"),
    "scripts revoke": ("1", "--by", "ana"),
}
UNREADABLE_DATABASES = {
    "random bytes": "sqlite:///garbage.db", "a directory": "sqlite:///directory.db", "a PNG": "sqlite:///picture.db",
    "a seed file": "sqlite:///seeds.toml.db", "a missing directory": "sqlite:////nonexistent-hostpairs-dir/x.db",
    "no URL": "not a database url", "an unknown dialect": "nosuchdb://x",
    "a closed port": "postgresql://nobody@127.0.0.1:1/none",
}


@dataclass(frozen=True)
class Case:
    command: str
    what: str
    args: tuple[str, ...]
    message: str | None = None
    """A fragment the error line must contain (when the case is refused for one reason only)."""
    bug: str | None = None

    @property
    def id(self) -> str:
        return f"{self.command}: {self.what}"


def case(command: str, what: str, *args: str, message: str | None = None, bug: str | None = None) -> Case:
    return Case(command, what, (*command.split(), *args), message, bug)


LONG = "a" * 256
HAND_WRITTEN = [
    # crawl: URLs, seed lists and seed files, host rules, and the options only a crawl reads
    case("crawl", "a URL of another scheme", "htp:/broken", *HARMLESS, message="must start with http:// or https://"),
    case("crawl", "a port out of range", "https://a.example:99999/", *HARMLESS, message="malformed URL"),
    case("crawl", "an unclosed IPv6 literal", "https://[::1/", *HARMLESS, message="malformed URL"),
    case("crawl", "a URL with a space", "https://a.example/ x", *HARMLESS, message="malformed URL"),
    case("crawl", "a URL without a host", "https:///path", *HARMLESS, message="malformed URL"),
    case("crawl", "a target too long for a file name", LONG, *HARMLESS),
    case("crawl", "a directory as seed list", "seeds-directory", *HARMLESS, message="neither a URL nor a seed file"),
    case("crawl", "a missing seed list", "missing-seeds.txt", *HARMLESS, message="neither a URL nor a seed file"),
    case("crawl", "a PNG as seed list", "picture.png", *HARMLESS, message="picture.png: cannot read"),
    case("crawl", "a SQLite database as seed list", "other.sqlite", *HARMLESS, message="other.sqlite: cannot read"),
    case("crawl", "a TOML seed file as seed list", "valid.toml", *HARMLESS, message="valid.toml:1:"),
    case("crawl", "a bad line in a seed list", "bad-line.txt", *HARMLESS, message="bad-line.txt:3:"),
    case("crawl", "--seeds with a syntax error", "--seeds", "syntax-error.toml", *HARMLESS,
         message="syntax-error.toml:3: invalid TOML"),
    case("crawl", "--seeds a PNG", "--seeds", "picture.png", *HARMLESS, message="cannot read"),
    case("crawl", "--seeds a directory", "--seeds", "seeds-directory", *HARMLESS, message="cannot read"),
    case("crawl", "--seeds a plain seed list", "--seeds", "seeds.txt", *HARMLESS, message="seeds.txt:1: invalid TOML"),
    case("crawl", "--group of no --seeds", "--group", "bank", *HARMLESS, message="no seed group"),
    case("crawl", "--group not in --seeds", "--seeds", "valid.toml", "--group", "nope", *HARMLESS, message="no seed group"),
    case("crawl", "nothing to crawl", *HARMLESS, message="nothing to crawl"),
    case("crawl", "host rules Chromium refuses", "https://bad-input.invalid/", "--mode", "static",
         "--host-rules", "MAPP * 1.2.3.4", message="invalid host rule"),
    # the database is unreadable too: a check that comes first answers, nothing starts either way
    case("crawl", "a --due that is no date", "https://bad-input.invalid/", *HARMLESS, "--due", "notadate",
         "--db", "sqlite:///garbage.db", message="due"),
    case("crawl", "a --webhook that is no URL", "https://bad-input.invalid/", *HARMLESS, "--webhook", "not a url",
         "--db", "sqlite:///garbage.db", message="webhook"),
    case("crawl", "a directory as --alert-file", "https://bad-input.invalid/", *HARMLESS, "--alert-file",
         "seeds-directory", "--db", "sqlite:///garbage.db", message="alert"),
    case("crawl", "a file as --job", "https://bad-input.invalid/", *HARMLESS, "--job", "picture.png",
         "--db", "sqlite:///fresh-for-job.db", message="job picture.png: not a directory"),
    # watch: its seed file, host rules, and the options it hands to its crawls
    case("watch", "a file as --job", "valid.toml", *HARMLESS, "--job", "picture.png", message="not a directory"),
    case("watch", "a seed file with a syntax error", "syntax-error.toml", *HARMLESS, message="syntax-error.toml:3:"),
    case("watch", "a PNG as seed file", "picture.png", *HARMLESS, message="cannot read"),
    case("watch", "a directory as seed file", "seeds-directory", *HARMLESS, message="cannot read"),
    case("watch", "a missing seed file", "missing.toml", *HARMLESS, message="cannot read"),
    case("watch", "a seed file name too long", LONG, *HARMLESS, message="cannot read"),
    case("watch", "an empty seed file", "empty.toml", *HARMLESS, message="no groups"),
    case("watch", "a seed file with a NUL", "nul.toml", *HARMLESS, message="invalid TOML"),
    case("watch", "a plain seed list as seed file", "not-toml.toml", *HARMLESS, message="invalid TOML"),
    case("watch", "host rules Chromium refuses", "valid.toml", "--mode", "static", "--host-rules", "MAP *",
         message="invalid host rule"),
    case("watch", "an interval beyond the calendar", "huge-interval.toml", *HARMLESS, "--db", "sqlite:///garbage.db",
         message="interval"),
    case("watch", "a --webhook that is no URL", "valid.toml", *HARMLESS, "--webhook", "not a url",
         "--db", "sqlite:///garbage.db", message="webhook"),
    case("watch", "a directory as --alert-file", "valid.toml", *HARMLESS, "--alert-file", "seeds-directory",
         "--db", "sqlite:///garbage.db", message="alert"),
    # look-ups: hosts, dates, causes, tracker types
    case("lookup", "words for a host", "not a host", message="not a host name or IP address"),
    case("lookup", "an empty host", "", message="not a host name or IP address"),
    case("lookup", "a host without a dot", "localhost", message="not a host name or IP address"),
    case("lookup", "a URL with a port", "https://shop.example:8443/", message="not a host name or IP address"),
    case("lookup", "user info", "analyst@shop.example", message="not a host name or IP address"),
    case("lookup", "a defanged host", "evil[.]example", message="not a host name or IP address"),
    case("lookup", "an unknown cause", "shop.example", "--cause", "iframe.source", message="unknown cause"),
    case("lookup", "a page before the first", "shop.example", "--page", "-1", message="page: -1 is out of range"),
    case("lookup", "an empty page size", "shop.example", "--limit", "0", message="limit: 0 is out of range"),
    case("trackers", "a page size beyond the cap", "--search", "UA-1-1", "--limit", "20000",
         message="limit: 20000 is out of range"),
    case("lookup", "a thirteenth month", "shop.example", "--start", "2024-13-01", message="--start: not a date"),
    case("lookup", "words for a date", "shop.example", "--end", "yesterday", message="--end: not a date"),
    case("resolutions", "words for a host", "not a host", message="not a host name or IP address"),
    case("resolutions", "an IP with a port", "203.0.113.9:53", message="not a host name or IP address"),
    case("resolutions", "an unclosed IPv6 literal", "[2001:db8::1", message="not a host name or IP address"),
    case("visit", "a malformed URL", "htp:/x", message="no visit of"),
    case("visit", "an empty URL", "", message="no visit of"),
    case("trackers", "neither HOST nor --search", message="give either HOST or --search"),
    case("trackers", "both HOST and --search", "shop.example", "--search", "UA-1-1", message="give either HOST or --search"),
    case("trackers", "a blank --search", "--search", "  ", message="not a tracker value"),
    case("trackers", "an unknown --type", "--search", "UA-1-1", "--type", "Nope", message="unknown tracker type"),
    case("trackers", "words for a host", "not a host", message="not a host name or IP address"),
    case("cookies", "nothing to look up", message="give HOST, --name NAME or --domain DOMAIN"),
    case("cookies", "words for a host", "not a host", message="not a host name or IP address"),
    case("cookies", "words for a --domain", "--domain", "not a domain", message="not a host name or IP address"),
    case("components", "words for a host", "a b", message="not a host name or IP address"),
    case("components", "a URL with a port", "http://shop.example:8080/", message="not a host name or IP address"),
    # serve: refused before it listens
    case("serve", "beyond loopback without keys", "--host", "0.0.0.0", "--port", "0", message="refusing to serve"),
    case("serve", "an address that does not resolve", "--host", "no-such-host.invalid", "--port", "0",
         message="cannot listen on no-such-host.invalid"),
    case("serve", "a certificate without its key", "--cert", "valid.toml", "--port", "0",
         message="give both --cert and --key"),
    case("serve", "a certificate that is no certificate", "--cert", "valid.toml", "--key", "valid.toml", "--port", "0",
         message="cannot use --cert valid.toml"),
    case("serve", "a missing certificate", "--cert", "no-such.pem", "--key", "no-such.pem", "--port", "0",
         message="cannot use --cert no-such.pem"),
    # users
    case("users add", "no e-mail address", "analyst", message="invalid e-mail address 'analyst'"),
    case("users add", "a colon in the address", "a:b@example.com", message="invalid e-mail address"),
    case("users add", "an address without a dot in its domain", "analyst@localhost", message="invalid e-mail address"),
    case("users revoke", "no e-mail address", "analyst", message="invalid e-mail address 'analyst'"),
    # exports
    case("export", "a data set it does not have", "visits", "--format", "csv", message="'visits' is not one of"),
    case("export", "no format", "pairs", message="Missing option '--format'"),
    case("export", "a query of alerts", "alerts", "--format", "csv", "--query", "shop.example",
         message="query: alerts are exported whole"),
    case("export", "a direction without a query", "pairs", "--format", "csv", "--direction", "parents",
         message="direction: only for pairs with a query"),
    case("export", "words for --since", "pairs", "--format", "csv", "--since", "last week", message="since: not a date"),
    case("export", "a host that is not", "pairs", "--format", "csv", "--query", "a..b", message="not a host name"),
    # demo: nothing it could refuse but its database and its numbers (derived below)
    # seeds
    case("seeds validate", "a syntax error", "syntax-error.toml", message="syntax-error.toml:3: invalid TOML"),
    case("import", "a PNG", "picture.png", "--db", "sqlite:///fresh-for-import.db", message="picture.png: not UTF-8 text"),
    case("import", "random bytes", "garbage.db", "--db", "sqlite:///fresh-for-import.db", message="garbage.db"),
    case("import", "a directory", "seeds-directory", message="seeds-directory: not a file"),
    case("import", "a missing file", "no-such-file.csv", message="no-such-file.csv: not a file"),
    case("import", "an empty --source", "valid.toml", "--source", " ", message="--source"),
    case("prune", "no window", message="give --keep-visits N and/or --older-than"),
    # the distributed crawl
    case("worker", "no frontier", *HARMLESS, message="Missing option '--frontier'"),
    case("worker", "a frontier that is no URL", "--frontier", "not a url", *HARMLESS, message="--frontier: invalid frontier URL"),
    case("worker", "a frontier on a closed port", "--frontier", "redis://127.0.0.1:1/0", *HARMLESS, message="--frontier:"),
    case("worker", "a lease too short", "--frontier", "redis://127.0.0.1:1/0", "--lease", "0.5", message="--lease"),
    case("frontier status", "a frontier of another scheme", "--frontier", "http://127.0.0.1:6379/0",
         message="--frontier: invalid frontier URL"),
    case("crawl", "a job into a frontier", "https://a.example/", "--frontier", "redis://127.0.0.1:1/0", "--job", "job",
         message="--job and --frontier"),
    case("crawl", "seed groups into a closed frontier", "--frontier", "redis://127.0.0.1:1/0", "--seeds", "valid.toml",
         message="--frontier:"),
    case("watch", "a job and a frontier", "valid.toml", "--frontier", "redis://127.0.0.1:1/0", "--job", "job",
         message="--job and --frontier"),
    case("watch", "a closed frontier", "valid.toml", "--frontier", "redis://127.0.0.1:1/0", message="--frontier:"),
    case("crawl", "a concurrency of none", "https://a.example/", *HARMLESS, "--concurrency", "0",
         message="--concurrency: '0' is neither a number from 1 to 64 nor auto"),
    case("crawl", "a concurrency in words", "https://a.example/", *HARMLESS, "--concurrency", "many",
         message="--concurrency: 'many'"),
    case("worker", "a concurrency past 64", "--frontier", "redis://127.0.0.1:6379/15", *HARMLESS, "--concurrency", "65",
         message="--concurrency: '65'"),
    case("prune", "words for a duration", "--older-than", "a while", message="--older-than: bad duration"),
    case("prune", "a thirteenth month", "--older-than", "2024-13-01", message="--older-than: not a date"),
    case("prune", "no visits to keep", "--keep-visits", "0", message="--keep-visits"),
    case("seeds validate", "a PNG", "picture.png", message="cannot read"),
    case("seeds validate", "a directory", "seeds-directory", message="cannot read"),
    case("seeds validate", "a missing file", "missing.toml", message="cannot read"),
    case("seeds validate", "a name too long", LONG, message="cannot read"),
    case("seeds validate", "an empty file", "empty.toml", message="no groups"),
    case("seeds validate", "a NUL", "nul.toml", message="invalid TOML"),
    case("seeds validate", "a SQLite database", "other.sqlite", message="cannot read"),
    case("seeds validate", "random bytes", "garbage.db", message="cannot read"),
    case("seeds validate", "an interval beyond the calendar", "huge-interval.toml", message="interval"),
    # reprocess and the script inventory
    case("reprocess", "words for --since", "--since", "last week", message="--since: not a date"),
    case("reprocess", "a URL never visited", "--url", "https://never.example/", message="no stored visit matches"),
    case("visit", "a HAR file in a missing directory", "https://shop.example/", "--har", "no-such-dir/v.har",
         message="no visit of"),
    case("scripts show", "a page never inventoried", "https://shop.example/", message="no script inventory of"),
    Case("scripts show", "a page never inventoried, asked the short way", ("scripts", "https://shop.example/"),
         message="no script inventory of"),
    case("scripts authorize", "words for a pattern", "not a host!", "--justification", "x", "--by", "ana",
         message="not a script URL, a host or a SHA-256"),
    case("scripts authorize", "a blank justification", "shop.example", "--justification", " ", "--by", "ana",
         message="--justification and --by must not be empty"),
    case("scripts authorize", "a pinned host", "shop.example", "--justification", "x", "--by", "ana", "--version-pinned",
         message="--version-pinned applies to a script URL"),
    case("scripts authorize", "a pin of a script never seen", "https://shop.example/a.js", "--justification", "x",
         "--by", "ana", "--version-pinned", message="no version to pin"),
    case("scripts authorize", "a name too long", "shop.example", "--justification", "x", "--by", LONG,
         message="--by: at most 255 characters"),
    case("scripts revoke", "an ID nothing has", "987654", "--by", "ana", message="no active authorisation #987654"),
    case("scripts report", "a group never visited", "--group", "nobody", message="no visit of seed group 'nobody'"),
    case("scripts report", "words for --since", "--group", "g", "--since", "last week", message="--since: not a date"),
    # alerts
    case("alerts", "words for --since", "--since", "last week", message="--since: not a date"),
    case("alerts ack", "an ID nothing has", "987654", message="no alert with id 987654"),
    case("alerts ack", "an ID beyond 64 bits", "9223372036854775808"),
]


def derived_cases(name: str, command: click.Command) -> Iterator[Case]:
    """Malformed values for what the command's parameters declare: numbers, choices, required
    arguments, --db; and an option no command has."""
    good = GOOD_ARGUMENTS.get(name, ())
    yield Case(name, "an unknown option", (*name.split(), *good, "--no-such-option"))
    for param in command.params:
        if isinstance(param, click.Argument) and param.required:
            yield Case(name, f"no {param.human_readable_name}", tuple(name.split()))
        if not isinstance(param, click.Option) or param.is_flag or param.name == "help":
            continue
        option = max(param.opts, key=len)
        if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
            yield Case(name, f"{option} not a number", (*name.split(), *good, option, "twelve"))
            for bound, beyond, what in (("min", -1, "below its minimum"), ("max", 1, "above its maximum")):
                if getattr(param.type, bound, None) is not None:
                    value = str(getattr(param.type, bound) + beyond)
                    yield Case(name, f"{option} {what}", (*name.split(), *good, option, value))
        elif isinstance(param.type, click.Choice):
            yield Case(name, f"{option} not a choice", (*name.split(), *good, option, "bogus"))
        elif param.name == "db":
            # every kind of unreadable database on one command; the two commonest on every other
            kinds = UNREADABLE_DATABASES if name == "lookup" else ("random bytes", "a directory")
            for what in kinds:
                yield Case(name, f"a database that is {what}", (*name.split(), *good, "--db", UNREADABLE_DATABASES[what]))
    for param in command.params:
        if isinstance(param, click.Argument) and isinstance(param.type, click.types.IntParamType):
            yield Case(name, f"{param.human_readable_name} not a number", (*name.split(), "twelve"))


def groups(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(command, click.Group):
        yield path
        for name, sub in command.commands.items():
            yield from groups(sub, (*path, name))


CASES = (HAND_WRITTEN + [c for name, command in COMMANDS.items() for c in derived_cases(name, command)]
         + [Case(" ".join(("hostpairs", *path)), "an unknown command", (*path, "no-such-command"))
            for path in groups(typer.main.get_command(app))])


def test_every_command_has_bad_inputs() -> None:
    written = {c.command for c in HAND_WRITTEN}
    derived_only = {"demo", "seeds status", "users list", "scripts list"}  # nothing to give them but their options and database
    missing = sorted(set(COMMANDS) - written - derived_only)
    assert not missing, f"add malformed-input cases to HAND_WRITTEN for: {', '.join(missing)}"
    assert not (written | derived_only) - set(COMMANDS), "cases for commands the app no longer has"
    assert set(GOOD_ARGUMENTS) >= {name for name, command in COMMANDS.items()
                                   if any(p.name == "db" for p in command.params)}, "GOOD_ARGUMENTS lacks a command"
    assert len({c.id for c in CASES}) == len(CASES)


# --- running them --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    """None: still running after the timeout (and killed)."""
    stdout: str
    stderr: str


TIMEOUT = 60.0

# Runs cases the way `python -m hostpairs ARGS` does (hostpairs/__main__.py calls main()), each in a
# process of its own, forked once `hostpairs.cli` and the modules its commands import on first use
# are imported: start-up (0.4 s, and 0.7 s more for a crawl's Scrapy) is paid once, not per case.
# Whatever those imports print is replayed at the start of every case's stderr, as each process
# would have printed it. A child has its own working directory, stdout and stderr files and process
# group (killed with its children after the timeout); a traceback is printed as the interpreter would.
PRELOAD = ("hostpairs.crawler.run", "hostpairs.crawler.targets", "hostpairs.crawler.host_rules", "hostpairs.crawler.watch",
           "hostpairs.storage.db", "hostpairs.storage.queries", "hostpairs.storage.alerts", "hostpairs.storage.schedules",
           "hostpairs.api.parameters", "hostpairs.api.passivetotal", "hostpairs.storage.api_users", "hostpairs.api.visit_report",
           "hostpairs.api.alert_events", "hostpairs.demoweb.story", "hostpairs.seeds.validation", "alembic.command")
DRIVER = r"""
import importlib, json, os, signal, sys, tempfile, time, traceback
cases = json.load(sys.stdin)
sys.stderr.flush()
saved = os.dup(2)
with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
        from hostpairs.cli import main
        for module in json.loads(os.environ["BAD_INPUT_PRELOAD"]):
            try:
                importlib.import_module(module)
            except ModuleNotFoundError:
                pass
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
    captured.seek(0)
    preamble = captured.read()
results, running, queue = {}, {}, list(enumerate(cases))
def start(index, case):
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid:
        running[pid] = (index, time.monotonic())
        return
    code = 1
    try:
        os.setpgid(0, 0)
        os.chdir(case["cwd"])
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(case[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        os.write(2, preamble)
        sys.argv = ["hostpairs", *case["args"]]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush(); sys.stderr.flush()
    finally:
        os._exit(code)
while queue or running:
    while queue and len(running) < int(os.environ["BAD_INPUT_WORKERS"]):
        start(*queue.pop(0))
    pid, status = os.waitpid(-1, os.WNOHANG)
    if pid:
        results[running.pop(pid)[0]] = os.waitstatus_to_exitcode(status)
        continue
    for pid, (index, started) in list(running.items()):
        if time.monotonic() - started > float(os.environ["BAD_INPUT_TIMEOUT"]):
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            running.pop(pid)
            results[index] = None
    time.sleep(0.005)
print(json.dumps([results[i] for i in range(len(cases))]))
"""


def environment() -> dict[str, str]:
    """tests/conftest.py run_cli's environment, without the settings a case must not inherit."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "COLUMNS": "200", "BAD_INPUT_WORKERS": str(max(2, os.cpu_count() or 2)), "BAD_INPUT_TIMEOUT": str(TIMEOUT),
           "BAD_INPUT_PRELOAD": json.dumps(PRELOAD)}
    for variable in ("HOSTPAIRS_DB", "HOSTPAIRS_HOST_RULES", "HOSTPAIRS_ALLOW_PRIVATE",
                     "HOSTPAIRS_ALERT_FILE", "HOSTPAIRS_WEBHOOKS"):
        env.pop(variable, None)
    return env


def with_database(args: tuple[str, ...], db: str) -> tuple[str, ...]:
    """`args`, with `--db db` when the command takes --db and the case gives none."""
    command = COMMANDS.get(" ".join(args[:2])) or COMMANDS.get(args[0])
    if "--db" in args or command is None or not any(p.name == "db" for p in command.params):
        return args
    return (*args, "--db", db)


def migrated_database(path: Path) -> Path:
    """An empty hostpairs database at `path`, its schema migrated (once, not once per case)."""
    engine = open_database(f"sqlite:///{path}")
    engine.dispose()
    return path


def run_cases(cases: list[Case], root: Path) -> dict[str, Outcome]:
    """The outcome of each case, each in a directory of its own with the files of make_files and
    an empty database, fresh.db, which cases get as --db unless they give one."""
    template = root / "template"
    template.mkdir()
    make_files(template)
    migrated_database(template / "fresh.db")
    jobs = []
    for index, bad in enumerate(cases):
        cwd = root / f"case-{index}"
        shutil.copytree(template, cwd)
        jobs.append({"args": list(with_database(bad.args, f"sqlite:///{cwd / 'fresh.db'}")), "cwd": str(cwd),
                     "stdout": str(cwd / "stdout.txt"), "stderr": str(cwd / "stderr.txt")})
    if os.environ.get("HOSTPAIRS_BAD_INPUT_SUBPROCESS"):  # the slow way, one `python -m hostpairs` per case
        codes: list[int | None] = []
        for job in jobs:
            with open(job["stdout"], "w") as stdout, open(job["stderr"], "w") as stderr:
                process = subprocess.Popen([sys.executable, "-m", "hostpairs", *job["args"]], cwd=job["cwd"],
                                           env=environment(), stdout=stdout, stderr=stderr, start_new_session=True)
                try:
                    codes.append(process.wait(timeout=TIMEOUT))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    codes.append(None)
    else:
        driver = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(jobs), env=environment(), cwd=root,
                                capture_output=True, text=True, timeout=TIMEOUT * 2 + 5 * len(jobs))
        assert driver.returncode == 0, driver.stderr
        codes = json.loads(driver.stdout.splitlines()[-1])
    return {bad.id: Outcome(code, Path(job["stdout"]).read_text(errors="replace"), Path(job["stderr"]).read_text(errors="replace"))
            for bad, job, code in zip(cases, jobs, codes)}


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """The outcome of every selected case, all run at once."""
    selected = [item.callspec.params["bad"] for item in request.session.items
                if item.module is sys.modules[__name__] and hasattr(item, "callspec") and "bad" in item.callspec.params]
    return run_cases(selected, tmp_path_factory.mktemp("bad-input"))


def marked(bad: Case):  # noqa: ANN201 (a pytest.param)
    marks = [pytest.mark.xfail(strict=True, reason=bad.bug)] if bad.bug else []
    return pytest.param(bad, id=bad.id, marks=marks)


@pytest.mark.parametrize("bad", [marked(c) for c in CASES])
def test_malformed_input_gets_one_line_and_exit_2(bad: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[bad.id]
    shown = f"{bad.args}\nexit {outcome.returncode}\nstderr: {outcome.stderr[-2000:]}\nstdout: {outcome.stdout[-500:]}"
    assert outcome.returncode is not None, f"still running after {TIMEOUT:.0f} s: it started something\n{shown}"
    assert "Traceback" not in outcome.stderr + outcome.stdout, shown
    assert outcome.returncode == 2, shown
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    if bad.message is not None:
        assert bad.message in lines[0], shown
