"""Seed files: TOML groups, validation with the line at fault, plain URL lists, schedule arithmetic."""

from __future__ import annotations

import random
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hostpairs.crawler.targets import read_seed_urls
from hostpairs.seeds.groups import SeedFileError, SeedGroup, format_duration, parse_duration
from hostpairs.seeds.schedule import is_due, next_due, schedule_after_run
from hostpairs.seeds.validation import MIN_INTERVAL_SECONDS, load_seed_groups

EXAMPLE = Path(__file__).resolve().parent.parent / "seeds" / "example.toml"
T0 = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)

VALID = """\
# hostpairs seed groups
[defaults]
interval = "6h"
depth = 0
jitter = "10m"

[groups.bank]
urls = ["https://www.demo-bank.com/", "https://www.demo-bank.com/login"]
interval = "1h"
tags = ["payment", "login"]
allow_hosts = ["cdn.demo-bank-static.net", ".googletagmanager.com"]
allow_patterns = ['^ads\\d+\\.adnet\\.com$']
max_pages = 10

[groups.shop]
urls = ["https://shop-a.com/"]
cron = "30 */4 * * *"
jitter = 0
"""


def write(tmp_path: Path, text: str, name: str = "seeds.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> SeedFileError:
    path = write(tmp_path, text)
    with pytest.raises(SeedFileError) as info:
        load_seed_groups(path)
    where = path if info.value.line is None else f"{path}:{info.value.line}"
    assert str(info.value) == f"{where}: {info.value.message}"
    return info.value


def group(**overrides: object) -> SeedGroup:
    fields: dict[str, object] = dict(
        name="g",
        urls=("https://shop-a.com/",),
        interval_seconds=3600,
        cron=None,
        jitter_seconds=0,
        depth=0,
        max_pages=10,
        tags=frozenset(),
        allow_hosts=(),
        allow_patterns=(),
    )
    fields.update(overrides)
    return SeedGroup(**fields)  # type: ignore[arg-type]


# --- a valid file -------------------------------------------------------------------------


def test_valid_file_applies_defaults_and_overrides(tmp_path: Path) -> None:
    bank, shop = load_seed_groups(write(tmp_path, VALID))

    assert bank.name == "bank"
    assert bank.urls == ("https://www.demo-bank.com/", "https://www.demo-bank.com/login")
    assert (bank.interval_seconds, bank.cron) == (3600, None)
    assert (bank.jitter_seconds, bank.depth, bank.max_pages) == (600, 0, 10)
    assert bank.tags == {"payment", "login"}
    assert bank.allow_hosts == ("cdn.demo-bank-static.net", "googletagmanager.com")
    assert [p.pattern for p in bank.allow_patterns] == [r"^ads\d+\.adnet\.com$"]

    # A group's cron replaces the default interval rather than conflicting with it.
    assert (shop.interval_seconds, shop.cron) == (None, "30 */4 * * *")
    assert shop.jitter_seconds == 0
    assert shop.max_pages == 100
    assert shop.tags == frozenset()


def test_group_inherits_the_default_schedule(tmp_path: Path) -> None:
    [only] = load_seed_groups(
        write(tmp_path, '[defaults]\ncron = "0 3 * * *"\n\n[groups.a]\nurls = ["http://a.example/"]\n')
    )
    assert (only.interval_seconds, only.cron) == (None, "0 3 * * *")


def test_example_file_validates() -> None:
    groups = {g.name: g for g in load_seed_groups(EXAMPLE)}
    assert "https://www.demo-bank.com/" in groups["bank"].urls
    assert groups["bank"].tags == {"payment", "login"}
    assert groups["shop"].urls == ("https://shop-a.com/",)
    assert groups["shop"].tags == {"payment"}


def test_is_allowlisted(tmp_path: Path) -> None:
    bank = load_seed_groups(write(tmp_path, VALID))[0]
    assert bank.is_allowlisted("cdn.demo-bank-static.net")
    assert bank.is_allowlisted("img.cdn.demo-bank-static.net")
    assert bank.is_allowlisted("googletagmanager.com")
    assert bank.is_allowlisted("www.GoogleTagManager.com.")
    assert bank.is_allowlisted("ads42.adnet.com")
    assert not bank.is_allowlisted("ads.adnet.com")
    assert not bank.is_allowlisted("evilgoogletagmanager.com")
    assert not bank.is_allowlisted("demo-bank-static.net")
    assert not bank.is_allowlisted("")


# --- validation errors, each with its line ------------------------------------------------


def test_toml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ninterval "1h"\n')
    assert error.line == 3
    assert "invalid TOML" in error.message
    assert "(at line" not in error.message


def test_toml_error_at_end_of_file_reports_the_last_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups.a]\nurls = [\n  "https://a.example/",\n')
    assert error.line == 3
    assert "end of file" in error.message


def test_toml_duplicate_key_reports_the_second_definition(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups.a]\ninterval = "1h"\ninterval = "2h"\n')
    assert error.line == 3


def test_unknown_key_typo_in_group(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """\
        [defaults]
        depth = 0

        [groups.bank]
        urls = ["https://www.demo-bank.com/"]
        intreval = "1h"
        """,
    )
    assert error.line == 6
    assert error.message == "unknown key 'intreval' in [groups.bank] (did you mean 'interval'?)"


def test_unknown_key_in_defaults_and_at_top_level(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[defaults]\njiter = "1m"\n\n[groups.a]\nurls = ["https://a.example/"]\n')
    assert (error.line, error.message) == (2, "unknown key 'jiter' in [defaults] (did you mean 'jitter'?)")

    error = load_error(tmp_path, 'title = "x"\n\n[groups.a]\nurls = ["https://a.example/"]\n')
    assert error.line == 1
    assert "unknown key 'title' at the top level" in error.message

    error = load_error(tmp_path, '[group.a]\nurls = ["https://a.example/"]\n')
    assert error.line == 1
    assert "did you mean 'groups'" in error.message


def test_urls_are_not_a_default(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[defaults]\ninterval = "1h"\nurls = ["https://a.example/"]\n')
    assert error.line == 3
    assert "unknown key 'urls' in [defaults]" in error.message


def test_key_located_in_the_right_group(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """\
        [defaults]
        interval = "1h"

        [groups.a]
        urls = ["https://a.example/"]
        depth = 1

        [groups.b]
        urls = ["https://b.example/"]
        depth = -1
        """,
    )
    assert error.line == 10
    assert error.message == "depth must be at least 0, not -1"


def test_quoted_group_name_is_located(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, '[defaults]\ninterval = "1h"\n\n[groups."demo bank"]\nurls = ["https://a.example/"]\ndepth = "2"\n'
    )
    assert error.line == 6
    assert error.message == "depth must be an integer, not a string"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('urls = "https://a.example/"', 3, "urls must be a list of strings"),
        ("urls = [1, 2]", 3, "urls must be a list of strings"),
        ("urls = []", 3, "urls is empty"),
        ('urls = ["https://a.example/"]\ntags = "payment"', 4, "tags must be a list of strings"),
        ('urls = ["https://a.example/"]\nmax_pages = 0', 4, "max_pages must be at least 1, not 0"),
        ('urls = ["https://a.example/"]\nmax_pages = true', 4, "max_pages must be an integer, not a boolean"),
        ('urls = ["https://a.example/"]\ndepth = 1.5', 4, "depth must be an integer, not a float"),
    ],
)
def test_wrong_types_and_values(tmp_path: Path, body: str, line: int, message: str) -> None:
    error = load_error(tmp_path, f'[defaults]\n[groups.a]\n{body}\ninterval = "1h"\n')
    assert (error.line, error.message) == (line, message)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://a.example/", "URL 'ftp://a.example/' must start with http:// or https://"),
        ("www.demo-bank.com", "URL 'www.demo-bank.com' must start with http:// or https://"),
        ("https:///path", "malformed URL 'https:///path'"),
        ("https://a.example:99999/", "malformed URL 'https://a.example:99999/'"),
        ("https://a.example/a b", "malformed URL 'https://a.example/a b'"),
    ],
)
def test_malformed_url_reports_its_line_in_a_multiline_array(tmp_path: Path, url: str, message: str) -> None:
    error = load_error(
        tmp_path,
        f'[groups.a]\ninterval = "1h"\nurls = [\n  "https://a.example/",\n  "{url}",\n]\n',
    )
    assert (error.line, error.message) == (5, message)


def test_duplicate_url_reports_the_repeat(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """\
        [groups.bank]
        interval = "1h"
        urls = [
            "https://www.demo-bank.com/",
            "https://www.demo-bank.com/login",
            "https://www.demo-bank.com/",
        ]
        """,
    )
    assert (error.line, error.message) == (6, "duplicate URL 'https://www.demo-bank.com/'")


def test_bad_duration(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ninterval = "6x"\n')
    assert error.line == 3
    assert error.message.startswith("interval: bad duration '6x'")


def test_bad_jitter_in_defaults_points_at_defaults(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[defaults]\ninterval = "1h"\njitter = -5\n\n[groups.a]\nurls = ["https://a.example/"]\n')
    assert (error.line, error.message) == (3, "jitter: negative duration -5")


def test_both_interval_and_cron(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ninterval = "1h"\ncron = "0 * * * *"\n'
    )
    assert (error.line, error.message) == (4, "both interval and cron are set: use one")


def test_neither_interval_nor_cron_points_at_the_group_header(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[defaults]\ndepth = 1\n\n[groups.a]\nurls = ["https://a.example/"]\n')
    assert error.line == 4
    assert error.message.startswith("group 'a' has no schedule")


def test_missing_urls_points_at_the_group_header(tmp_path: Path) -> None:
    error = load_error(tmp_path, '# seeds\n\n[groups.a]\ninterval = "1h"\n')
    assert (error.line, error.message) == (3, "group 'a' has no urls")


def test_no_groups(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[defaults]\ninterval = "1h"\n')
    assert error.line is None
    assert error.message == "no groups: add a [groups.NAME] table"
    assert str(error) == f"{tmp_path / 'seeds.toml'}: no groups: add a [groups.NAME] table"


@pytest.mark.parametrize("cron", ["0 */6 * *", "61 * * * *", "every hour", "5"])
def test_bad_cron_expression(tmp_path: Path, cron: str) -> None:
    error = load_error(tmp_path, f'[groups.a]\nurls = ["https://a.example/"]\n\ncron = "{cron}"\n')
    assert (error.line, error.message) == (4, f"bad cron expression {cron!r}")


def test_cron_that_never_fires(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ncron = "0 0 31 2 *"\n')
    assert (error.line, error.message) == (3, "cron '0 0 31 2 *' never fires")


def test_interval_below_the_floor(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ninterval = "1m"\n')
    assert (error.line, error.message) == (3, "interval 1m is below the 5m floor")


@pytest.mark.parametrize(
    ("cron", "gap"),
    [("*/2 * * * *", "2m"), ("0,1 3 * * *", "1m"), ("0,59 0,23 * * *", "1m"), ("* * * * * */10", "10s")],
)
def test_cron_firing_faster_than_the_floor(tmp_path: Path, cron: str, gap: str) -> None:
    error = load_error(tmp_path, f'[groups.a]\nurls = ["https://a.example/"]\ncron = "{cron}"\n')
    assert (error.line, error.message) == (3, f"cron {cron!r} fires every {gap}, below the 5m floor")


def test_cron_at_the_floor_is_accepted(tmp_path: Path) -> None:
    [only] = load_seed_groups(write(tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ncron = "*/5 * * * *"\n'))
    assert only.cron == "*/5 * * * *"


def test_bad_regex(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        "[groups.a]\nurls = ['https://a.example/']\ninterval = '1h'\nallow_patterns = [\n  '^ok$',\n  '^ads(\\d+$',\n]\n",
    )
    assert error.line == 6
    assert error.message.startswith("bad regex '^ads(\\\\d+$' in allow_patterns: missing ), unterminated subpattern")


def test_bad_allow_host(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, '[groups.a]\nurls = ["https://a.example/"]\ninterval = "1h"\nallow_hosts = ["https://cdn.example/"]\n'
    )
    assert error.line == 4
    assert error.message.startswith("bad host 'https://cdn.example/' in allow_hosts")


def test_group_that_is_not_a_table(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[groups]\nbank = "https://www.demo-bank.com/"\n')
    assert (error.line, error.message) == (2, "groups.bank must be a table")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SeedFileError) as info:
        load_seed_groups(tmp_path / "missing.toml")
    assert info.value.line is None
    assert str(info.value).startswith(f"{tmp_path / 'missing.toml'}: cannot read:")


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("6h", 21600),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1d12h", 129600),
        ("2h0m5s", 7205),
        ("0s", 0),
        (0, 0),
        (3600, 3600),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["6x", "", "h", "1.5h", "30m1h", "1h1h", "-1h", "1 h", -1, True, 1.5])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59, "59s"), (300, "5m"), (5400, "1h30m"), (694861, "1w1d1h1m1s")])
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_floor_is_five_minutes() -> None:
    assert MIN_INTERVAL_SECONDS == parse_duration("5m")


# --- plain URL lists ----------------------------------------------------------------------


def test_read_seed_urls_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        # demo sites
        https://www.demo-bank.com/

          https://shop-a.com/   # the shop
        https://shop-a.com/#top
        \t
        """,
        name="seeds.txt",
    )
    assert read_seed_urls(path) == ["https://www.demo-bank.com/", "https://shop-a.com/", "https://shop-a.com/#top"]


def test_read_seed_urls_reports_the_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, "# seeds\nhttps://www.demo-bank.com/\n\nwww.shop-a.com\n", name="seeds.txt")
    with pytest.raises(SeedFileError) as info:
        read_seed_urls(path)
    assert info.value.line == 4
    assert str(info.value) == f"{path}:4: URL 'www.shop-a.com' must start with http:// or https://"


def test_read_seed_urls_reports_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path, "https://shop-a.com/\n# again\nhttps://shop-a.com/\n", name="seeds.txt")
    with pytest.raises(SeedFileError) as info:
        read_seed_urls(path)
    assert info.value.line == 3
    assert info.value.message == "duplicate URL 'https://shop-a.com/' (first on line 1)"


# --- schedule -----------------------------------------------------------------------------


def test_next_due_interval_without_jitter() -> None:
    assert next_due(group(interval_seconds=3600), T0, random.Random(1)) == T0 + timedelta(hours=1)


def test_next_due_interval_jitter_stays_in_bounds() -> None:
    g = group(interval_seconds=3600, jitter_seconds=600)
    rng = random.Random(42)
    offsets = {next_due(g, T0, rng) - T0 - timedelta(hours=1) for _ in range(500)}
    assert min(offsets) >= timedelta(0)
    assert max(offsets) <= timedelta(seconds=600)
    assert len(offsets) > 100  # actually random, not a constant offset
    assert all(offset.microseconds == 0 for offset in offsets)


def test_next_due_is_reproducible_with_a_seeded_rng() -> None:
    g = group(interval_seconds=3600, jitter_seconds=600)
    assert next_due(g, T0, random.Random(7)) == next_due(g, T0, random.Random(7))


def test_next_due_cron() -> None:
    g = group(interval_seconds=None, cron="30 */4 * * *")
    assert next_due(g, T0, random.Random(1)) == datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)
    # Strictly after: a time exactly on a firing gives the following one.
    on_slot = datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)
    assert next_due(g, on_slot, random.Random(1)) == datetime(2025, 3, 10, 16, 30, tzinfo=timezone.utc)
    late = datetime(2025, 3, 10, 20, 45, tzinfo=timezone.utc)
    assert next_due(g, late, random.Random(1)) == datetime(2025, 3, 11, 0, 30, tzinfo=timezone.utc)


def test_next_due_cron_is_evaluated_in_utc() -> None:
    g = group(interval_seconds=None, cron="0 3 * * *")
    paris_noon = datetime(2025, 3, 10, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert next_due(g, paris_noon, random.Random(1)) == datetime(2025, 3, 11, 3, 0, tzinfo=timezone.utc)


def test_next_due_cron_jitter_stays_in_bounds() -> None:
    g = group(interval_seconds=None, cron="0 * * * *", jitter_seconds=120)
    rng = random.Random(3)
    slot = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)
    dues = [next_due(g, T0, rng) for _ in range(300)]
    assert all(slot <= due <= slot + timedelta(seconds=120) for due in dues)
    assert len(set(dues)) > 50


def test_next_due_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        next_due(group(), datetime(2025, 3, 10, 12, 0), random.Random(1))


def test_is_due() -> None:
    assert is_due(None, T0)
    assert is_due(T0, T0)
    assert is_due(T0 - timedelta(seconds=1), T0)
    assert not is_due(T0 + timedelta(seconds=1), T0)


def test_schedule_after_run_steps_from_the_due_time_not_the_finish_time() -> None:
    g = group(interval_seconds=3600)
    finished = T0 + timedelta(minutes=20)  # a slow crawl
    assert schedule_after_run(g, T0, finished, random.Random(1)).run_at == T0 + timedelta(hours=1)


def test_schedule_after_run_early_now_keeps_the_next_slot() -> None:
    g = group(interval_seconds=3600)
    assert schedule_after_run(g, T0, T0 - timedelta(minutes=5), random.Random(1)).run_at == T0 + timedelta(hours=1)


def test_catch_up_after_downtime_is_one_run_then_the_future() -> None:
    g = group(interval_seconds=3600, jitter_seconds=300)
    rng = random.Random(5)
    due = T0
    now = T0 + timedelta(hours=5, minutes=10)  # the process was down for five intervals

    runs, slot = 0, T0
    for _ in range(10):  # the watch loop polling at the same instant
        if is_due(due, now):
            runs += 1
            next_run = schedule_after_run(g, slot, now, rng)
            slot, due = next_run.slot, next_run.run_at
    assert runs == 1
    # The first slot after now, in step with the original schedule, plus jitter.
    assert slot == T0 + timedelta(hours=6)
    assert now < slot <= due <= slot + timedelta(seconds=300)


def test_jitter_never_makes_the_schedule_drift() -> None:
    g = group(interval_seconds=3600, jitter_seconds=600)
    rng, slot = random.Random(3), T0
    for hour in range(1, 49):  # two days of runs, each starting at its jittered time
        next_run = schedule_after_run(g, slot, slot + timedelta(minutes=5), rng)
        assert next_run.slot == T0 + timedelta(hours=hour)
        assert next_run.slot <= next_run.run_at <= next_run.slot + timedelta(seconds=600)
        slot = next_run.slot


def test_catch_up_on_a_slot_boundary_goes_to_the_next_slot() -> None:
    g = group(interval_seconds=3600)
    now = T0 + timedelta(hours=3)
    assert schedule_after_run(g, T0, now, random.Random(1)).run_at == T0 + timedelta(hours=4)


def test_catch_up_for_cron_groups() -> None:
    g = group(interval_seconds=None, cron="0 */6 * * *")
    due = datetime(2025, 3, 10, 0, 0, tzinfo=timezone.utc)
    now = datetime(2025, 3, 11, 7, 15, tzinfo=timezone.utc)  # five firings missed
    assert is_due(due, now)
    after = schedule_after_run(g, due, now, random.Random(1)).run_at
    assert after == datetime(2025, 3, 11, 12, 0, tzinfo=timezone.utc)
    assert not is_due(after, now)


def test_durations_longer_than_a_year_are_refused() -> None:
    assert parse_duration("52w2d") == 366 * 86400
    with pytest.raises(ValueError, match="longer than"):
        parse_duration("52w3d")
