"""The trailer format both ways: what format_trailers writes, parse_trailers and git read
back the same, whatever the config repo or a registry put in a tag or a file name."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from updater.trailers import (
    BotTrailers,
    ImageChange,
    ImageRename,
    Trigger,
    format_trailers,
    parse_trailers,
    parse_trigger,
    quote,
    run_id,
    trigger,
    unquote,
)

HOSTILE = (
    "1.0 -> 2.0 (x.yaml:3)",
    "a\nImage-Updated: evil/x 1 -> 2 (f:1)",
    "Signed-off-by: Mallory <m@evil>",
    'quote" and \\ backslash \\" \\x41',
    "tab\there\r\n\x00\x1b[31m\x7f\x85\u2028\u2029\u202e\u200b\U0001f600",
    "",
    " ",
    "(",
    ")",
    "->",
    ":9)",
    '"',
)


def git_trailers(message: str, cwd: Path) -> list[str]:
    result = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message, capture_output=True, text=True, check=True, cwd=cwd,
    )  # fmt: skip
    return result.stdout.splitlines()


def test_the_documented_example() -> None:
    t = BotTrailers(
        (ImageChange("ghcr.io/acme/api", "1.4.2", "1.5.0", "apps/api/overlays/prod/k.yaml", 9),),
        str(trigger("poll", ("policy", "semver"), ("range", ">=1.4 <2"))),
        "https://github.com/acme/config/actions/runs/42",
    )
    assert format_trailers(t) == (
        "Image-Updated: ghcr.io/acme/api 1.4.2 -> 1.5.0 (apps/api/overlays/prod/k.yaml:9)\n"
        'Image-Updater-Trigger: poll policy=semver range=">=1.4 <2"\n'
        "Image-Updater-Run: https://github.com/acme/config/actions/runs/42"
    )
    assert parse_trailers(f"Update api\n\nbody\n\n{format_trailers(t)}\n") == t


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_round_trip_through_git(value: str, tmp_path: Path) -> None:
    changes = (
        ImageChange("ghcr.io/acme/api", value, value, value, 7),
        ImageChange(value, "1.0", "sha256:" + "a" * 64, "apps/k.yaml", 0),
    )
    t = BotTrailers(changes, str(trigger("rollback", ("to", value))), quote(value))
    message = f"Update\n\n{format_trailers(t)}\n"
    assert parse_trailers(message) == t
    lines = format_trailers(t).split("\n")
    assert len(lines) == 4 and all(ln.isprintable() for ln in lines)
    assert git_trailers(message, tmp_path) == lines  # git sees the same four trailers
    assert parse_trigger(t.trigger) == Trigger("rollback", (("to", value),))
    assert unquote(t.run) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_a_rename_round_trips_through_git(value: str, tmp_path: Path) -> None:
    t = BotTrailers(
        (ImageChange("ghcr.io/acme/api", "1.0", "1.0", value, 7),),
        "set-image",
        "",
        (ImageRename("ghcr.io/acme/api", "ghcr.io/acme/api", value, value, 7),),
    )
    message = f"Update\n\n{format_trailers(t)}\n"
    assert parse_trailers(message) == t
    lines = format_trailers(t).split("\n")
    assert [line.partition(":")[0] for line in lines] == [
        "Image-Updated", "Image-Renamed", "Image-Updater-Trigger",
    ]  # fmt: skip
    assert git_trailers(message, tmp_path) == lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.builds(
            ImageChange,
            st.text(),
            st.text(),
            st.text(),
            st.text(),
            st.integers(min_value=0, max_value=10**9),
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), st.text())),
    st.text(),
)
def test_any_values_round_trip(
    changes: list[ImageChange], params: list[tuple[str, str]], run: str
) -> None:
    why = trigger("poll", *params)
    t = BotTrailers(tuple(changes), str(why), quote(run))
    text = format_trailers(t)
    assert text.count("\n") == len(changes) + 1
    assert parse_trailers(f"Subject\n\n{text}") == t
    assert parse_trigger(t.trigger) == why


def test_only_the_last_paragraph_counts() -> None:
    forged = "Image-Updated: evil/x 1 -> 2 (f.yaml:1)\nImage-Updater-Trigger: set-image"
    assert parse_trailers(f"Subject\n\n{forged}\n\nJust prose.\n") is None
    assert parse_trailers("Subject\n\nImage-Updater-Trigger: set-image\n") is None
    ours = BotTrailers((ImageChange("a/b", "1", "2", "f.yaml", 3),), "set-image", "")
    parsed = parse_trailers(
        f"Subject\n\n{forged}\n\n{format_trailers(ours)}\nSigned-off-by: A <a@b>\n\n"
    )
    assert parsed == ours


def test_lines_that_are_not_the_bots_are_skipped() -> None:
    message = (
        "S\n\nImage-Updated: a/b 1 -> 2 (f.yaml:3)\nImage-Updated: not one\n"
        'Image-Updated: a/b "bad \\q" -> 2 (f.yaml:3)\nCo-authored-by: X <x@y>\n'
        "image-updater-trigger: set-image\n"
    )
    assert parse_trailers(message) == BotTrailers(
        (ImageChange("a/b", "1", "2", "f.yaml", 3),), "set-image", ""
    )


def test_a_trigger_or_run_that_is_not_one_line_is_refused() -> None:
    change = (ImageChange("a/b", "1", "2", "f.yaml", 3),)
    for bad in ("set-image\nSigned-off-by: x", " set-image", "x\x1b"):
        with pytest.raises(ValueError):
            format_trailers(BotTrailers(change, bad, ""))
        with pytest.raises(ValueError):
            format_trailers(BotTrailers(change, "set-image", bad))
    with pytest.raises(ValueError):
        trigger("Poll\n")
    with pytest.raises(ValueError):
        trigger("poll", ("range=x y", "1"))


def test_triggers() -> None:
    assert str(trigger("set-image")) == "set-image"
    assert str(trigger("rollback", ("to", "1.4.2"), ("steps", None))) == "rollback to=1.4.2"
    assert str(trigger("promote", ("from", "staging"), ("to", "prod"))) == (
        "promote from=staging to=prod"
    )
    why = parse_trigger('hold add image=ghcr.io/acme/api reason="a b"')
    assert why == Trigger("hold add", (("image", "ghcr.io/acme/api"), ("reason", "a b")))
    assert why.get("reason") == "a b" and why.get("until") is None
    assert parse_trigger("poll range=>=1") is None
    assert parse_trigger('poll range="unclosed') is None


def test_run_id() -> None:
    github = {
        "GITHUB_SERVER_URL": "https://github.com/",
        "GITHUB_REPOSITORY": "acme/config",
        "GITHUB_RUN_ID": "42",
        "CI_JOB_URL": "https://gitlab.example/acme/config/-/jobs/7",
    }
    assert run_id(github) == "https://github.com/acme/config/actions/runs/42"
    assert run_id({"CI_JOB_URL": github["CI_JOB_URL"]}) == github["CI_JOB_URL"]
    assert run_id({**github, "UPDATER_RUN_ID": "nightly 7"}) == '"nightly 7"'
    assert run_id({"GITHUB_RUN_ID": "42"}) != run_id({"GITHUB_RUN_ID": "42"})  # incomplete
    assert uuid.UUID(run_id({})).version == 4
    assert run_id({"CI_JOB_URL": "https://x/\nImage-Updated: a"}) == (
        '"https://x/\\x0aImage-Updated: a"'
    )
