"""MODE flags: one at most, and ``poll`` delivers only when told to (flag > CI setting,
which the wrappers pass as a flag > the config's ``delivery.mode`` via ``--deliver``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.registry import Registry
from tests.support.remotes import SEED, Remote, git, run_updater
from updater.config import PollConfig, confirmed_delivery, delivery_mode, parse_config
from updater.errors import UsageError

pytestmark = pytest.mark.usefixtures("isolated_credentials")  # no docker config of the machine's


@pytest.mark.parametrize(
    "flags",
    [
        ["--write", "--commit"],
        ["--dry-run", "--push"],
        ["--push", "--pull-request"],
    ],
)
@pytest.mark.parametrize("command", ["set-image", "poll"])
def test_two_mode_flags_are_refused(command: str, flags: list[str], tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("image: ghcr.io/acme/api:1.0.0\n")
    extra = ["ghcr.io/acme/api:1.1.0"] if command == "set-image" else []
    result = run_updater(command, "--repo", str(tmp_path), *flags, *extra)
    assert result.returncode == 2, result.stderr
    assert f"{flags[0]} and {flags[1]}: give one mode flag" in result.stderr
    assert (tmp_path / "app.yaml").read_text() == "image: ghcr.io/acme/api:1.0.0\n"


def test_the_same_mode_twice_is_one_mode(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("image: ghcr.io/acme/api:1.0.0\n")
    result = run_updater(
        "set-image", "--repo", str(tmp_path), "--write", "--write", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "app.yaml").read_text() == "image: ghcr.io/acme/api:1.1.0\n"


def config(mode: str | None) -> PollConfig:
    delivery = f"delivery:\n  mode: {mode}\n" if mode else ""
    return parse_config(
        f"images:\n  - name: ghcr.io/acme/api\n    policy: semver\n{delivery}", "c.yaml"
    )


def test_poll_mode_precedence() -> None:
    assert delivery_mode(None, config("pull-request")) == "dry-run"  # never the file alone
    assert delivery_mode("deliver", config("pull-request")) == "pull-request"
    assert delivery_mode("push", config("pull-request")) == "push"  # the flag wins
    assert delivery_mode("dry-run", config("push")) == "dry-run"
    with pytest.raises(UsageError, match=r"--deliver uses delivery\.mode, which this file"):
        delivery_mode("deliver", config(None))


def test_poll_without_a_flag_does_not_deliver(
    anon: Registry,
    tmp_path: Path,
) -> None:
    """The config says push; without a flag poll prints the diff and pushes nothing;
    --deliver pushes."""
    image = f"{anon.host}/t/poll-modes"
    anon.push_image("t/poll-modes", ["1.0.0", "1.1.0"])
    files = dict(SEED)
    files["apps/app.yaml"] = f"image: {image}:1.0.0\n"
    files[".image-updater.yaml"] = textwrap.dedent(
        f"""\
        images:
          - name: {image}
            policy: semver
        registries:
          - host: {anon.host}
            insecure: true
        delivery:
          mode: push
        """
    )
    remote = Remote(tmp_path / "remotes" / "config.git", files)
    work = tmp_path / "work"
    git("clone", "-q", remote.url, str(work))
    dry = run_updater("poll", "--repo", str(work))
    assert dry.returncode == 0, dry.stderr
    assert f"+image: {image}:1.1.0" in dry.stdout
    assert len(remote.log()) == 1 and f"{image}:1.0.0" in (work / "apps/app.yaml").read_text()
    pushed = run_updater("poll", "--repo", str(work), "--deliver")
    assert pushed.returncode == 0, pushed.stderr
    assert len(remote.log()) == 2 and f"{image}:1.1.0" in remote.show("apps/app.yaml")


def test_the_config_cannot_choose_where_a_token_goes() -> None:
    text = (
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n"
        "delivery:\n  forge: github\n  api-url: https://evil.example/api/v3\n"
        "  token-env: DEPLOY_TOKEN\n"
    )
    parsed = parse_config(text, ".image-updater.yaml")
    with pytest.raises(UsageError) as caught:
        confirmed_delivery(parsed, {}, environ={})
    message = str(caught.value)
    assert message.startswith(".image-updater.yaml:6: delivery.api-url: the config repo cannot")
    assert "--api-url https://evil.example/api/v3" in message
    confirmed = {"api_url": "https://evil.example/api/v3"}
    with pytest.raises(UsageError, match=r"^\.image-updater\.yaml:7: delivery\.token-env"):
        confirmed_delivery(parsed, confirmed, environ={})
    both = {**confirmed, "token_env": "DEPLOY_TOKEN"}
    assert confirmed_delivery(parsed, both, environ={})["forge"] == "github"
    # The CI platform's own API (or a forge's public one) is nowhere new.
    ghe = parse_config(
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\ndelivery:\n  api-url: https://ghe.corp/api/v3\n",
        "c.yaml",
    )
    assert confirmed_delivery(ghe, {}, environ={"GITHUB_API_URL": "https://ghe.corp/api/v3"})
    public = parse_config(
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\ndelivery:\n  api-url: https://api.github.com\n",
        "c.yaml",
    )
    assert confirmed_delivery(public, {}, environ={})["api_url"] == "https://api.github.com"


def test_a_polled_config_steering_a_token_is_refused_before_any_lookup(tmp_path: Path) -> None:
    (tmp_path / ".image-updater.yaml").write_text(
        "images:\n  - name: 127.0.0.1:9/acme/api\n    policy: semver\n"
        "delivery:\n  mode: pull-request\n  token-env: GITHUB_TOKEN\n"
    )
    result = run_updater("poll", "--repo", str(tmp_path), "--deliver", env={"GITHUB_TOKEN": "x"})
    assert result.returncode == 2, result.stderr
    assert "/.image-updater.yaml:6: delivery.token-env: the config repo cannot" in result.stderr
