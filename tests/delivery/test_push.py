"""--push against real bare remotes: commits on the tip, re-plans on races, never forces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.remotes import REPO_ROOT, Remote, git, kustomization, run_updater

PROD = "apps/overlays/prod/kustomization.yaml"
STAGING = "apps/overlays/staging/kustomization.yaml"


def test_push_commits_on_the_tip_with_the_bot_identity(remote: Remote) -> None:
    before = remote.log()
    result = run_updater(
        "set-image", "--repo", remote.url, "--push", "--json", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["delivery"]
    after = remote.log()
    assert after[1:] == before and report["commit_sha"] == after[0]
    assert report == {**report, "mode": "push", "base": "main", "branch": "main", "pushed": True}
    assert 'newTag: "1.1.0"' in remote.show(PROD)
    assert remote.show(STAGING) == kustomization("ghcr.io/acme/web", "2.0.0")
    who = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", cwd=remote.path).strip()
    bot = "gitops-updater <gitops-updater@users.noreply.github.com>"
    assert who == f"{bot}|{bot}"
    assert remote.message().startswith("Update ghcr.io/acme/api 1.0.0 -> 1.1.0\n")


def test_rerun_is_idempotent(remote: Remote) -> None:
    args = ("set-image", "--repo", remote.url, "--push", "--json", "ghcr.io/acme/api:1.1.0")
    assert run_updater(*args).returncode == 0
    tip = remote.log()
    again = run_updater(*args)
    assert again.returncode == 0, again.stderr
    delivery = json.loads(again.stdout)["delivery"]
    assert delivery["commit_sha"] is None and delivery["pushed"] is False
    assert remote.log() == tip


def test_message_template_skip_ci_signoff_and_identities(remote: Remote) -> None:
    result = run_updater(
        "set-image",
        "--repo",
        remote.url,
        "--push",
        "--message",
        "deploy({images}): {old} -> {new} on {base}\n\nfiles: {files}",
        "--skip-ci",
        "--signoff",
        "--author",
        "Release Bot <release@example.invalid>",
        "--committer",
        "CI <ci@example.invalid>",
        "ghcr.io/acme/api:1.1.0",
    )
    assert result.returncode == 0, result.stderr
    message = remote.message()
    assert message.splitlines()[0] == "deploy(ghcr.io/acme/api): 1.0.0 -> 1.1.0 on main [skip ci]"
    assert f"files: apps/base/deployment.yaml, {PROD}" in message
    assert "Signed-off-by: CI <ci@example.invalid>" in message
    who = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", cwd=remote.path).strip()
    assert who == "Release Bot <release@example.invalid>|CI <ci@example.invalid>"


def test_bad_message_template_is_a_usage_error(remote: Remote) -> None:
    result = run_updater(
        "set-image", "--repo", remote.url, "--push", "--message", "{nope}", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 2
    assert "--message" in result.stderr and "Traceback" not in result.stderr
    assert len(remote.log()) == 1


@pytest.mark.parametrize("mode", ["--commit", "--push"])
@pytest.mark.parametrize(
    ("option", "value"),
    [("--message", "{nope}"), ("--author", "nobody"), ("--committer", "nobody")],
)
def test_a_bad_commit_option_is_refused_with_nothing_to_change(
    remote: Remote, tmp_path: Path, mode: str, option: str, value: str
) -> None:
    """The repo already has the tag: the run would commit nothing, but the option is
    still refused, so a CI job learns of it on its first run, not on the first change."""
    checkout = tmp_path / "checkout"
    git("clone", "-q", remote.url, str(checkout))
    result = run_updater(
        "set-image", "--repo", str(checkout), mode, option, value, "ghcr.io/acme/api:1.0.0"
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"updater: error: {option}: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(remote.log()) == 1 and git("status", "--porcelain", cwd=checkout) == ""


def test_sparse_clone_only_fetches_the_path(remote: Remote, tmp_path: Path) -> None:
    from updater import git as ugit

    checkout = ugit.clone(remote.url, branch=None, paths=["apps/overlays/prod"])
    try:
        present = sorted(
            p.relative_to(checkout.path).as_posix()
            for p in checkout.path.rglob("*")
            if p.is_file() and ".git" not in p.parts
        )
        assert present == ["README.md", PROD]
        assert (checkout.path / ".git" / "shallow").exists()
        assert (
            git("config", "remote.origin.partialclonefilter", cwd=checkout.path).strip()
            == "blob:none"
        )
    finally:
        checkout.close()
    assert not checkout.path.exists()


def test_push_with_path_on_a_file(remote: Remote) -> None:
    result = run_updater(
        "set-image", "--repo", remote.url, "--path", PROD, "--push", "ghcr.io/acme/api:1.2.0"
    )
    assert result.returncode == 0, result.stderr
    assert 'newTag: "1.2.0"' in remote.show(PROD)
    assert "image: ghcr.io/acme/api:1.0.0" in remote.show("apps/base/deployment.yaml")


def test_race_replans_on_the_new_tip(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another pipeline pushes between our clone and our push: we fetch, plan again on
    its commit (keeping its change) and push on top."""
    from updater.commands.set_image import make_planner, parse_changes
    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver

    changes = parse_changes(("ghcr.io/acme/api:1.1.0",), ())
    inner = make_planner(changes, (), False)
    calls: list[str] = []

    def make_plan(root: Path):  # type: ignore[no-untyped-def]
        calls.append(git("rev-parse", "HEAD", cwd=root).strip())
        if len(calls) == 1:
            remote.commit({STAGING: kustomization("ghcr.io/acme/web", "2.5.0")}, "web 2.5.0")
        return inner(root)

    result = deliver(
        DeliveryRequest(repo=remote.url, mode="push", options=DeliveryOptions(retry_delay=0.01)),
        make_plan,
    )
    assert result.pushed and result.attempts == 2
    assert len(calls) == 2 and calls[0] != calls[1]  # planned again, on the new tip
    assert 'newTag: "1.1.0"' in remote.show(PROD)
    assert 'newTag: "2.5.0"' in remote.show(STAGING)
    assert len(remote.log()) == 3 and remote.linear()


def test_race_where_the_new_tip_already_has_the_tag(remote: Remote) -> None:
    from updater.commands.set_image import make_planner, parse_changes
    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver

    inner = make_planner(parse_changes(("ghcr.io/acme/api:1.1.0",), ()), (), False)
    state = {"n": 0}

    def make_plan(root: Path):  # type: ignore[no-untyped-def]
        state["n"] += 1
        if state["n"] == 1:
            deployment = remote.show("apps/base/deployment.yaml").replace(":1.0.0", ":1.1.0")
            remote.commit(
                {
                    PROD: kustomization("ghcr.io/acme/api", "1.1.0"),
                    "apps/base/deployment.yaml": deployment,
                },
                "someone else",
            )
        return inner(root)

    result = deliver(
        DeliveryRequest(repo=remote.url, mode="push", options=DeliveryOptions(retry_delay=0.01)),
        make_plan,
    )
    assert result.commit_sha is None and not result.pushed
    assert remote.message().strip() == "someone else"


def test_gives_up_after_max_retries(remote: Remote) -> None:
    from updater.commands.set_image import make_planner, parse_changes
    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver
    from updater.errors import DeliveryError

    inner = make_planner(parse_changes(("ghcr.io/acme/api:1.1.0",), ()), (), False)
    counter = {"n": 0}

    def make_plan(root: Path):  # type: ignore[no-untyped-def]
        counter["n"] += 1
        remote.commit({"README.md": f"moved {counter['n']}\n"}, f"move {counter['n']}")
        return inner(root)

    with pytest.raises(DeliveryError, match=r"still rejected after 3 attempts"):
        deliver(
            DeliveryRequest(
                repo=remote.url,
                mode="push",
                options=DeliveryOptions(max_retries=2, retry_delay=0.01),
            ),
            make_plan,
        )
    assert "1.0.0" in remote.show(PROD)


@pytest.mark.slow
def test_ten_concurrent_pushes_all_land(tmp_path: Path) -> None:
    files = {"README.md": "x\n"}
    for i in range(10):
        files[f"apps/svc{i}/kustomization.yaml"] = kustomization(f"ghcr.io/acme/svc{i}", "1.0.0")
    remote = Remote(tmp_path / "remotes" / "race.git", files)
    # A barrier: the first push waits in pre-receive until a second one arrives, so two
    # pushes from the same tip are in flight together and one of them must lose the race.
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    remote.hook(
        "pre-receive",
        f'mktemp "{barrier}/arrived.XXXXXX" >/dev/null\nn=0\n'
        f'while [ "$(ls "{barrier}" | wc -l)" -lt 2 ] && [ $n -lt 1200 ]; do'
        " sleep 0.05; n=$((n+1)); done\nexit 0\n",
    )
    env = {"PYTHONPATH": str(REPO_ROOT)}
    import os

    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "updater",
                "set-image",
                "--repo",
                remote.url,
                "--push",
                "--json",
                f"ghcr.io/acme/svc{i}:2.0.{i}",
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        for i in range(10)
    ]
    deadline = time.monotonic() + 240
    outputs = [p.communicate(timeout=max(1, deadline - time.monotonic())) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    attempts = [json.loads(out)["delivery"]["attempts"] for out, _ in outputs]
    assert max(attempts) >= 2, attempts  # at least one run lost a race and re-planned
    assert all(a >= 1 for a in attempts)
    log = remote.log()
    assert len(log) == 11  # the seed and one commit per run: none lost, none doubled
    assert remote.linear()
    for i in range(10):
        assert f'newTag: "2.0.{i}"' in remote.show(f"apps/svc{i}/kustomization.yaml")


def test_push_refused_by_a_hook(remote: Remote) -> None:
    remote.hook("pre-receive", "echo 'protected: pushes need review' >&2\nexit 1\n")
    result = run_updater("set-image", "--repo", remote.url, "--push", "ghcr.io/acme/api:1.1.0")
    assert result.returncode == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0] and "hook declined" in lines[0], result.stderr
    assert "protected: pushes need review" in lines[0]
    assert len(remote.log()) == 1


def test_unreachable_remote(tmp_path: Path) -> None:
    result = run_updater(
        "set-image",
        "--repo",
        (tmp_path / "missing.git").as_uri(),
        "--push",
        "ghcr.io/acme/api:1.1.0",
    )
    assert result.returncode == 5
    assert result.stderr.startswith("updater: error: cannot clone ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_http_remote() -> None:
    result = run_updater(
        "set-image",
        "--repo",
        "http://127.0.0.1:9/acme/config.git",
        "--push",
        "ghcr.io/acme/api:1.1.0",
    )
    assert result.returncode == 5
    assert "cannot clone http://127.0.0.1:9/acme/config.git" in result.stderr


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client")
def test_unreachable_ssh_remote_names_ssh_s_reason() -> None:
    """ssh says why before git's follow-up ('Could not read from remote repository.'):
    the one line is ssh's."""
    result = run_updater(
        "set-image", "--repo", "ssh://git@127.0.0.1:9/acme/config.git", "--push",
        "ghcr.io/acme/api:1.1.0", env={"GIT_SSH_COMMAND": "ssh -o BatchMode=yes"},
    )  # fmt: skip
    assert result.returncode == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Connection refused" in lines[0], result.stderr
    assert "Could not read from remote repository" not in lines[0]


def test_missing_branch(remote: Remote) -> None:
    result = run_updater(
        "set-image", "--repo", remote.url, "--branch", "nope", "--push", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 5
    assert "branch 'nope' not found" in result.stderr


def test_push_to_another_branch(remote: Remote) -> None:
    remote.commit({"README.md": "release\n"}, "release branch", branch="release")
    result = run_updater(
        "set-image", "--repo", remote.url, "--branch", "release", "--push", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 0, result.stderr
    assert 'newTag: "1.1.0"' in remote.show(PROD, "release")
    assert 'newTag: "1.0.0"' in remote.show(PROD, "main")


def test_write_and_commit_need_a_local_repo(remote: Remote) -> None:
    for mode in ("--write", "--commit"):
        result = run_updater("set-image", "--repo", remote.url, mode, "ghcr.io/acme/api:1.1.0")
        assert result.returncode == 2
        assert "needs a local --repo" in result.stderr


def test_dry_run_on_a_url_prints_the_diff(remote: Remote) -> None:
    result = run_updater("set-image", "--repo", remote.url, "ghcr.io/acme/api:1.1.0")
    assert result.returncode == 0, result.stderr
    assert f"+++ b/{PROD}" in result.stdout and '+    newTag: "1.1.0"' in result.stdout
    assert len(remote.log()) == 1


# ----------------------------------------------------------------------- local checkouts


def _local_clone(remote: Remote, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    git("clone", "-q", remote.url, str(work))
    return work


def test_commit_in_a_local_checkout(remote: Remote, tmp_path: Path) -> None:
    work = _local_clone(remote, tmp_path)
    (work / "notes.txt").write_text("unrelated, staged\n")
    git("add", "notes.txt", cwd=work)
    result = run_updater(
        "set-image", "--repo", str(work), "--commit", "--json", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 0, result.stderr
    delivery = json.loads(result.stdout)["delivery"]
    assert delivery["commit_sha"] == git("rev-parse", "HEAD", cwd=work).strip()
    assert delivery["branch"] == "main" and delivery["pushed"] is False
    shown = git("show", "--name-only", "--format=", "HEAD", cwd=work).split()
    assert shown == [
        "apps/base/deployment.yaml",
        PROD,
    ]  # the user's staged file is not swept into the bot's commit
    assert git("diff", "--cached", "--name-only", cwd=work).split() == ["notes.txt"]
    assert len(remote.log()) == 1  # nothing pushed
    again = run_updater(
        "set-image", "--repo", str(work), "--commit", "--json", "ghcr.io/acme/api:1.1.0"
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["delivery"]["commit_sha"] is None
    assert len(git("log", "--format=%H", cwd=work).split()) == 2


def test_commit_refuses_a_dirty_file(remote: Remote, tmp_path: Path) -> None:
    work = _local_clone(remote, tmp_path)
    (work / PROD).write_text((work / PROD).read_text() + "# local edit\n")
    result = run_updater("set-image", "--repo", str(work), "--commit", "ghcr.io/acme/api:1.1.0")
    assert result.returncode == 5
    assert "uncommitted changes" in result.stderr
    assert (work / PROD).read_text().endswith("# local edit\n")
    assert len(git("log", "--format=%H", cwd=work).split()) == 1


def test_push_from_a_local_checkout_uses_its_upstream(remote: Remote, tmp_path: Path) -> None:
    work = _local_clone(remote, tmp_path)
    remote.commit({"README.md": "moved on\n"}, "moved on")  # the checkout is now behind
    result = run_updater(
        "set-image", "--repo", str(work), "--push", "--json", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["delivery"]["base"] == "main"
    assert 'newTag: "1.1.0"' in remote.show(PROD)
    assert remote.message(f"{remote.branch}~1").strip() == "moved on"
    assert 'newTag: "1.0.0"' in (work / PROD).read_text()  # the checkout is left alone
    assert git("status", "--porcelain", cwd=work) == ""


def test_push_from_a_checkout_without_a_remote(tmp_path: Path) -> None:
    work = tmp_path / "lonely"
    work.mkdir()
    git("init", "-q", cwd=work)
    (work / "kustomization.yaml").write_text(kustomization("ghcr.io/acme/api", "1.0.0"))
    git("add", "-A", cwd=work)
    git("commit", "-qm", "x", cwd=work)
    result = run_updater("set-image", "--repo", str(work), "--push", "ghcr.io/acme/api:1.1.0")
    assert result.returncode == 2
    assert "has no remote 'origin'" in result.stderr


def test_signing_follows_git_config(remote: Remote, tmp_path: Path, git_sandbox: Path) -> None:
    import shutil

    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = git_sandbox / ".gitconfig"
    config.write_text(
        config.read_text()
        + f"[gpg]\n\tformat = ssh\n[user]\n\tsigningkey = {key}.pub\n[commit]\n\tgpgsign = true\n"
    )
    result = run_updater("set-image", "--repo", remote.url, "--push", "ghcr.io/acme/api:1.1.0")
    assert result.returncode == 0, result.stderr
    raw = git("cat-file", "commit", "main", cwd=remote.path)
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in raw


@pytest.mark.parametrize("mode", ["--dry-run", "--write", "--commit", "--push"])
def test_a_bare_repository_path_is_named_as_one(remote: Remote, mode: str) -> None:
    """A bare remote's directory has no files to edit: say so and give the URL that
    works, rather than 'not a git repository' or 'image referenced nowhere'."""
    result = run_updater("set-image", "--repo", str(remote.path), mode, "ghcr.io/acme/api:1.1.0")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "a bare repository" in lines[0], result.stderr
    assert f"--repo {remote.url}" in lines[0]
    assert len(remote.log()) == 1
