"""`hostpairs users`: API keys shown once and stored only as their SHA-256, refused while active,
revoked, replaced, checked by `authenticate`, on both databases."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.storage.api_users import active_user_count, authenticate
from hostpairs.storage.db import MIGRATIONS, open_database, session_factory
from hostpairs.storage.models import ApiUser
from tests.conftest import database_at_revision, run_cli, sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def sessions(db: str) -> sessionmaker[Session]:
    return session_factory(open_database(db))


def one_line_error(result: subprocess.CompletedProcess[str], status: int) -> str:
    """The command's one error line, after checking it exited with `status` and printed nothing else."""
    assert result.returncode == status, result.stdout + result.stderr
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stdout + result.stderr
    return result.stderr.strip()


def added_key(email: str, db: str) -> str:
    result = run_cli("users", "add", email, "--db", db)
    assert result.returncode == 0, result.stderr
    assert "will not be shown again" in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) == 43, result.stdout  # token_urlsafe(32): 43 characters
    return lines[0]


def test_an_added_key_authenticates_and_only_its_hash_is_stored(db: str, tmp_path: Path) -> None:
    key = added_key("Analyst@Example.COM", db)
    with sessions(db)() as session:
        assert authenticate(session, "analyst@example.com", key) == "analyst@example.com"
        assert authenticate(session, "ANALYST@example.com ", key) == "analyst@example.com"
        assert active_user_count(session) == 1
        user = session.scalars(select(ApiUser)).one()
    assert user.email == "analyst@example.com" and user.revoked_at is None
    assert user.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert not any(key in str(value) for value in vars(user).values())
    if db.startswith("sqlite"):  # nowhere in the database's files either
        files = [path for path in tmp_path.iterdir() if path.name.startswith("hostpairs.db")]
        assert files and not any(key.encode() in path.read_bytes() for path in files)


def test_a_wrong_key_or_an_unknown_user_does_not_authenticate(db: str) -> None:
    key = added_key("analyst@example.com", db)
    other = added_key("other@example.org", db)
    with sessions(db)() as session:
        assert authenticate(session, "analyst@example.com", key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert authenticate(session, "analyst@example.com", other) is None  # another user's key
        assert authenticate(session, "analyst@example.com", "") is None
        assert authenticate(session, "nobody@example.com", key) is None
        assert authenticate(session, "", "") is None
        assert authenticate(session, "analyst@example.com", hashlib.sha256(key.encode()).hexdigest()) is None
        assert authenticate(session, "analyst@example.com", "\ud800") is None  # a lone surrogate: no error


def test_a_second_add_of_an_active_user_is_refused_and_keeps_the_key(db: str) -> None:
    key = added_key("analyst@example.com", db)
    error = one_line_error(run_cli("users", "add", "ANALYST@example.com", "--db", db), 2)
    assert error == "error: analyst@example.com already has a key: revoke it first"
    with sessions(db)() as session:
        assert authenticate(session, "analyst@example.com", key) == "analyst@example.com"
        assert len(session.scalars(select(ApiUser)).all()) == 1


def test_revoking_stops_the_key_and_adding_again_gives_a_new_one(db: str) -> None:
    old = added_key("analyst@example.com", db)
    added_key("other@example.org", db)
    result = run_cli("users", "revoke", "analyst@example.com", "--db", db)
    assert result.returncode == 0 and "revoked the API key of analyst@example.com" in result.stdout, result.stderr
    with sessions(db)() as session:
        assert authenticate(session, "analyst@example.com", old) is None
        assert active_user_count(session) == 1
    error = one_line_error(run_cli("users", "revoke", "analyst@example.com", "--db", db), 1)
    assert error == "error: no API user analyst@example.com with an active key"
    one_line_error(run_cli("users", "revoke", "nobody@example.com", "--db", db), 1)

    listed = run_cli("users", "list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if "@" in line}
    assert "revoked 20" in rows["analyst@example.com"] and "active" in rows["other@example.org"], listed.stdout
    as_json = [json.loads(line) for line in run_cli("users", "list", "--json", "--db", db).stdout.splitlines()]
    assert [(u["email"], u["revoked"] is None) for u in as_json] == [("analyst@example.com", False),
                                                                        ("other@example.org", True)]

    new = added_key("analyst@example.com", db)
    assert new != old
    with sessions(db)() as session:
        assert authenticate(session, "analyst@example.com", new) == "analyst@example.com"
        assert authenticate(session, "analyst@example.com", old) is None
        assert active_user_count(session) == 2
    as_json = [json.loads(line) for line in run_cli("users", "list", "--json", "--db", db).stdout.splitlines()]
    assert [u["revoked"] for u in as_json] == [None, None]
    assert as_json[0]["created"] <= as_json[1]["created"]  # re-adding keeps when the user was first added


@pytest.mark.parametrize("email", ["analyst", "@example.com", "analyst@localhost", "a@@example.com",
                                   "a@example..com", "an alyst@example.com", "a:b@example.com", "a\nb@example.com",
                                   "a" * 250 + "@example.com"])
def test_a_bad_email_is_a_one_line_error(email: str, tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    assert one_line_error(run_cli("users", "add", email, "--db", db), 2).startswith("error: invalid e-mail address ")
    with sessions(db)() as session:
        assert session.scalars(select(ApiUser)).all() == []


def test_the_migration_adds_and_drops_the_table(db: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from hostpairs.storage.db import normalize_url

    url = normalize_url(db)
    database_at_revision(url, "0010")
    engine = create_engine(url)
    assert not inspect(engine).has_table("api_users")
    open_database(db)  # upgrades to the head
    assert inspect(engine).has_table("api_users")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert not inspect(engine).has_table("api_users")
    engine.dispose()
