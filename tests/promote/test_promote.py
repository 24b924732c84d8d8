# ruff: noqa: E501 - the table reads best one case a line
"""``updater promote`` through the CLI on real git repos: overlays, Helm values and a
rename across environments; holds, downgrades, reruns; one PR on its own branch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support.fakeforge import FakeForgeServer
from tests.support.remotes import TOKEN, Remote, git
from tests.support.repos import make_repo as repo_of
from updater.cli import cli

pytestmark = pytest.mark.usefixtures("git_sandbox")  # a clean git identity, no machine tokens

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
ENVIRONMENTS = """\
environments:
  - name: dev
    paths: [apps/*/overlays/dev]
  - name: prod
    paths: [apps/*/overlays/prod, clusters/prod]
    from: dev
"""


def kustomization(new_name: str, tag: str) -> str:
    return f"images:\n  - name: api\n    newName: {new_name}\n    newTag: {tag}\n"


def values(tag: str, digest: str | None = None) -> str:
    pinned = f"  digest: {digest}\n" if digest else ""
    return f"image:\n  repository: ghcr.io/acme/web\n  tag: {tag}\n{pinned}"


def release(tag: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        f"    spec:\n      containers:\n        - name: web\n          image: ghcr.io/acme/web:{tag}\n"
    )


FILES = {
    "apps/api/overlays/dev/kustomization.yaml": kustomization("registry.dev/acme/api", "1.5.0"),
    "apps/api/overlays/prod/kustomization.yaml": kustomization("mirror.prod/acme/api", "1.4.2"),
    "apps/web/overlays/dev/values.yaml": values("2.1.0", DIGEST_A),
    "apps/web/overlays/prod/values.yaml": values("2.0.0", DIGEST_B),
    "clusters/prod/web.yaml": release("2.0.0"),
    "apps/web/overlays/staging/values.yaml": values("9.9.9"),  # in no environment
}


def make_repo(root: Path, files: dict[str, str], config: str = ENVIRONMENTS) -> Path:
    return repo_of(root, {**files, ".image-updater.yaml": config}, "seed")


def promote(repo: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["promote", "--repo", str(repo), *args], env=env, catch_exceptions=False
    )


def decisions(result: Result) -> dict[str, str]:
    return {p["image"]: p["decision"] for p in json.loads(result.stdout)["promotions"]}


def test_promote_sets_each_target_in_its_own_spelling_and_a_rerun_is_a_no_op(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    result = promote(repo, "--to", "prod", "--all", "--commit", "--json")
    assert result.exit_code == 0, result.output
    assert decisions(result) == {"api": "promoted", "ghcr.io/acme/web": "promoted"}
    # renamed per environment: matched through the name the entry replaces; prod keeps its mirror
    assert (repo / "apps/api/overlays/prod/kustomization.yaml").read_text() == kustomization(
        "mirror.prod/acme/api", "1.5.0"
    )
    # a pinned target gets the digest too, a tag-only target the tag only
    assert (repo / "apps/web/overlays/prod/values.yaml").read_text() == values("2.1.0", DIGEST_A)
    assert (repo / "clusters/prod/web.yaml").read_text() == release("2.1.0")
    assert (repo / "apps/web/overlays/staging/values.yaml").read_text() == values("9.9.9")
    assert git("log", "-1", "--format=%s", cwd=repo).startswith("Promote dev to prod: ")
    assert git("status", "--porcelain", cwd=repo) == ""

    again = promote(repo, "--to", "prod", "--all", "--commit", "--json")
    assert again.exit_code == 0, again.output
    assert decisions(again) == {"api": "up-to-date", "ghcr.io/acme/web": "up-to-date"}
    assert git("rev-list", "--count", "HEAD", cwd=repo).strip() == "2"


def test_image_selects_and_dry_run_prints_the_plan(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    result = promote(repo, "--to", "prod", "--image", "ghcr.io/acme/web")
    assert result.exit_code == 0, result.output
    assert "+  tag: 2.1.0\n" in result.stdout and "newTag" not in result.stdout
    assert "ghcr.io/acme/web: 2.0.0, 2.0.0@" in result.stderr
    assert git("status", "--porcelain", cwd=repo) == ""


def test_a_hold_in_the_target_is_respected(tmp_path: Path) -> None:
    config = (
        ENVIRONMENTS
        + "holds:\n  - image: ghcr.io/acme/web\n    paths: [clusters/prod]\n    until: '>2.1.0'\n"
    )
    repo = make_repo(tmp_path / "repo", FILES, config)
    result = promote(repo, "--to", "prod", "--all", "--write", "--json")
    assert result.exit_code == 0, result.output
    assert decisions(result) == {"api": "promoted", "ghcr.io/acme/web": "held"}
    (web,) = [p for p in json.loads(result.stdout)["promotions"] if p["decision"] == "held"]
    assert web["reason"] == "clusters/prod/web.yaml: held until '>2.1.0' (hold at line 8)"
    assert (repo / "clusters/prod/web.yaml").read_text() == release("2.0.0")
    assert (repo / "apps/web/overlays/prod/values.yaml").read_text() == values("2.0.0", DIGEST_B)


def test_a_downgrade_is_refused_unless_allowed(tmp_path: Path) -> None:
    files = {**FILES, "clusters/prod/web.yaml": release("3.0.0")}
    repo = make_repo(tmp_path / "repo", files)
    result = promote(repo, "--to", "prod", "--image", "ghcr.io/acme/web", "--write")
    assert result.exit_code == 0, result.output
    assert (
        "ghcr.io/acme/web: downgrade: dev's 2.1.0@sha256:" in result.stderr
        and "is older than 3.0.0 in clusters/prod/web.yaml; left alone (--allow-downgrade moves it)"
        in result.stderr
    )
    assert "nothing to promote" in result.stderr
    assert (repo / "clusters/prod/web.yaml").read_text() == release("3.0.0")
    allowed = promote(
        repo, "--to", "prod", "--image", "ghcr.io/acme/web", "--write", "--allow-downgrade"
    )
    assert allowed.exit_code == 0, allowed.output
    assert (repo / "clusters/prod/web.yaml").read_text() == release("2.1.0")


def test_ad_hoc_from_path_to_path_without_environments(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, "images: []\n")
    (repo / ".image-updater.yaml").unlink()
    result = promote(
        repo, "--from", "apps/web/overlays/staging", "--to", "clusters/prod", "--all", "--write",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (repo / "clusters/prod/web.yaml").read_text() == release("9.9.9")
    assert (repo / "apps/web/overlays/prod/values.yaml").read_text() == values("2.0.0", DIGEST_B)


BAD = [
    (ENVIRONMENTS, ["--to", "qa", "--all"], "updater: error: --to 'qa': unknown environment (known: dev, prod)"),
    (ENVIRONMENTS, ["--to", "dev", "--all"], "updater: error: {config}:2: environment dev has no 'from': nothing to promote it from"),
    (ENVIRONMENTS, ["--to", "prod"], "updater: error: give --image NAME (repeatable) or --all"),
    (ENVIRONMENTS.replace("from: dev", "from: stagin"), ["--to", "prod", "--all"], "updater: error: {config}:6: environments[1].from: unknown environment 'stagin'"),
    (ENVIRONMENTS.replace("paths: [apps/*/overlays/dev]", "paths: [apps/*/overlays/dev]\n    from: prod"), ["--to", "prod", "--all"], "updater: error: {config}:4: environments[0].from: a cycle: dev -> prod -> dev"),
    (ENVIRONMENTS.replace("clusters/prod", "apps/api"), ["--to", "prod", "--all"], "updater: error: {config}:5: environments[1].paths: apps/api overlaps apps/*/overlays/dev of environment dev (line 2): a file may belong to one environment only"),
    (ENVIRONMENTS + "holds:\n  - image: ghcr.io/acme/web\n    until: '>>2'\n", ["--to", "prod", "--all"], "updater: error: {config}:9: holds[0].until: bad semver range: improper constraint: >>2"),
    (ENVIRONMENTS.replace("    from: dev\n", "    from: dev\n    soak: two hours\n"), ["--to", "prod", "--all"], "updater: error: {config}:7: environments[1].soak: 'two hours' is not a duration (like 30m, 2h, 1d, 1h30m)"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "args", "message"), BAD)
def test_bad_input_is_one_line_with_nothing_written(
    tmp_path: Path, config: str, args: list[str], message: str
) -> None:
    repo = make_repo(tmp_path / "repo", FILES, config)
    result = promote(repo, *args, "--commit")
    assert result.exit_code == 2, result.output
    shown = message.format(config=repo / ".image-updater.yaml")
    assert result.stderr.startswith(shown) and result.stderr.count("\n") == 1, result.stderr
    assert git("status", "--porcelain", cwd=repo) == ""
    assert git("rev-list", "--count", "HEAD", cwd=repo).strip() == "1"


@pytest.mark.forge
def test_one_pull_request_on_its_own_branch_updated_on_rerun(
    forge: FakeForgeServer, tmp_path: Path
) -> None:
    remote = Remote(
        tmp_path / "remotes" / "acme" / "config.git", {**FILES, ".image-updater.yaml": ENVIRONMENTS}
    )
    forge.github.add_repo("acme/config", git_dir=remote.path)
    work = tmp_path / "work"
    git("clone", "-q", remote.url, str(work))
    args = ["--to", "prod", "--all", "--pull-request", "--json", "--forge", "github",
            "--api-url", forge.url, "--project", "acme/config"]  # fmt: skip
    result = promote(work, *args, env={"GITHUB_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    delivery = json.loads(result.stdout)["delivery"]
    assert delivery["pull_request_action"] == "created"
    assert delivery["branch"] == "updater/promote/prod"
    posts = [r for r in forge.requests if r.method == "POST" and r.path.endswith("/pulls")]
    create = posts[0].body
    assert create["head"] == "updater/promote/prod"
    assert create["title"] == "Promote to prod: api 1.5.0, ghcr.io/acme/web 2.1.0@" + DIGEST_A
    assert "| Image | From → to | Soaked for | Source |" in create["body"]
    seed = remote.log()[0][:12]  # the commit dev got 1.5.0 in, and how long it has run it
    row = rf"\| `api` \| `1.4\.2 → 1\.5\.0` \| \d+m \| `apps/api/overlays/dev/kustomization\.yaml @ {seed}` \|"
    assert re.search(row, create["body"]), create["body"]
    assert "<!-- gitops-updater:" in create["body"]

    # dev moves on; the rerun updates the same branch and PR
    remote.commit(
        {
            "apps/api/overlays/dev/kustomization.yaml": kustomization(
                "registry.dev/acme/api", "1.6.0"
            )
        }
    )
    git("pull", "-q", cwd=work)
    again = promote(work, *args, env={"GITHUB_TOKEN": TOKEN})
    assert again.exit_code == 0, again.output
    delivery = json.loads(again.stdout)["delivery"]
    assert delivery["pull_request_action"] == "updated"
    assert delivery["pull_request_url"].endswith("/pull/1")
    assert len(forge.github.repos["acme/config"].pulls) == 1
    assert "newTag: 1.6.0" in remote.show(
        "apps/api/overlays/prod/kustomization.yaml", "updater/promote/prod"
    )
    assert remote.show("apps/api/overlays/prod/kustomization.yaml") == kustomization(
        "mirror.prod/acme/api", "1.4.2"
    )
