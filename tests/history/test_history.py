"""``updater history`` through the CLI on histories built here: overlays and Helm values
with a setter marker, changed by the bot (set-image --commit) and by hand; renames,
deletions, versions that do not parse, shallow clones and a URL --repo."""

from __future__ import annotations

import json
from pathlib import Path

from tests.history.conftest import short
from tests.support.cli import run
from tests.support.history import Repo, hours_ago
from tests.support.repos import git

API = "ghcr.io/acme/api"
ENVIRONMENTS = """\
environments:
  - name: dev
    paths: [apps/*/overlays/dev]
  - name: staging
    paths: [apps/*/overlays/staging]
    from: dev
  - name: prod
    paths: [apps/*/overlays/prod, clusters/prod]
    from: staging
"""
DEV = "apps/api/overlays/dev/kustomization.yaml"
STAGING = "apps/api/overlays/staging/kustomization.yaml"
PROD = "apps/api/overlays/prod/kustomization.yaml"
VALUES = "clusters/prod/api-values.yaml"


def overlay(api: str, web: str = "2.0.0") -> str:
    return (
        "resources:\n  - ../../base\nimages:\n"
        f"  - name: ghcr.io/acme/api\n    newTag: {api}\n"
        f"  - name: ghcr.io/acme/web\n    newTag: {web}\n"
    )


def values(tag: str) -> str:
    return (
        "# the API in prod, through its chart\nimage:\n  repository: ghcr.io/acme/api\n"
        f'  tag: {tag} # {{"$imagepolicy": "flux-system:api:tag"}}\nreplicas: 3\n'
    )


def built(repo: Repo) -> dict[str, str]:
    """Five commits: the first by hand, then the bot, a hand edit, the bot, a revert."""
    commits = {}
    commits["seed"] = repo.edit(
        {
            ".image-updater.yaml": ENVIRONMENTS,
            DEV: overlay("1.4.0"),
            STAGING: overlay("1.4.0"),
            PROD: overlay("1.4.0"),
            VALUES: values("1.4.0"),
        },
        "seed",
        when=hours_ago(100),
    )
    commits["bot-dev"] = repo.bot(
        "set-image", "--path", "apps/api/overlays/dev", f"{API}:1.5.0", when=hours_ago(50)
    )
    commits["hand-date"] = hours_ago(30)
    commits["hand-staging"] = repo.edit(
        {STAGING: overlay("1.5.0", web="2.1.0")}, "staging by hand", when=commits["hand-date"]
    )
    commits["bot-prod"] = repo.bot(
        "set-image", "--path", "clusters/prod", f"{API}:1.5.0", when=hours_ago(20)
    )
    with_date = {"GIT_COMMITTER_DATE": hours_ago(10), "GIT_AUTHOR_DATE": hours_ago(10)}
    git(repo.path, "revert", "--no-edit", commits["bot-prod"], env=with_date)
    commits["revert"] = repo.head()
    commits["readme"] = repo.edit({"README.md": "config\n"}, "docs", when=hours_ago(5))
    return commits


def test_every_change_of_an_image_newest_first(repo: Repo) -> None:
    c = built(repo)
    changes = repo.history(API)
    assert [(x[0], x[1], x[2], x[3]) for x in short(changes)] == [
        (c["revert"], VALUES, "1.5.0", "1.4.0"),
        (c["bot-prod"], VALUES, "1.4.0", "1.5.0"),
        (c["hand-staging"], STAGING, "1.4.0", "1.5.0"),
        (c["bot-dev"], DEV, "1.4.0", "1.5.0"),
        (c["seed"], DEV, None, "1.4.0"),
        (c["seed"], PROD, None, "1.4.0"),
        (c["seed"], STAGING, None, "1.4.0"),
        (c["seed"], VALUES, None, "1.4.0"),
    ]
    revert, bot_prod, hand, bot_dev, *seed = changes
    assert revert["rollback"] is True and revert["by"] == "manual"
    assert hand["by"] == "manual" and hand["rollback"] is False
    for bot in (bot_prod, bot_dev):  # read from the trailers set-image wrote
        assert (bot["by"], bot["trigger"], bot["rollback"]) == ("bot", "set-image", False)
        assert bot["run"]
    assert {x["by"] for x in seed} == {"manual"} and revert["trigger"] is None
    assert hand["author"] == "Alice <alice@example.com>"
    assert hand["subject"] == "staging by hand"
    assert [x["environment"] for x in changes[:4]] == ["prod", "prod", "staging", "dev"]
    assert (bot_prod["kind"], bot_prod["line"], bot_prod["image"]) == ("helm", 4, API)
    assert hand["date"] == c["hand-date"]
    assert [x["change"] for x in changes[3:5]] == ["changed", "added"]


def test_a_bot_rollback_and_what_trailers_cannot_claim(repo: Repo) -> None:
    repo.edit({DEV: overlay("1.4.0"), PROD: overlay("1.4.0")}, "seed")
    bumped = repo.bot("set-image", f"{API}:1.5.0")
    rolled = repo.bot("rollback", "--path", "apps/api/overlays/prod", API)
    # a hand commit whose message copies the bot's trailers, for another file
    forged = repo.edit(
        {DEV: overlay("1.6.0")},
        "by hand\n\nImage-Updated: ghcr.io/acme/api 1.4.0 -> 1.5.0"
        f" ({PROD}:5)\nImage-Updater-Trigger: set-image",
    )
    # a bot commit amended by hand with one more change
    repo.bot("set-image", "--path", "apps/api/overlays/prod", f"{API}:1.7.0")
    repo.write({DEV: overlay("1.7.1")})
    git(repo.path, "commit", "-q", "-a", "--amend", "--no-edit")
    amended = repo.head()
    rows = [(x["commit"], x["file"], x["new"], x["by"], x["rollback"]) for x in repo.history(API)]
    assert rows[:6] == [
        (amended, DEV, "1.7.1", "manual", False),
        (amended, PROD, "1.7.0", "bot", False),
        (forged, DEV, "1.6.0", "manual", False),
        (rolled, PROD, "1.4.0", "bot", True),
        (bumped, DEV, "1.5.0", "bot", False),
        (bumped, PROD, "1.5.0", "bot", False),
    ]
    last_three = repo.history("--max-count", "3", API)
    assert [x["commit"] for x in last_three] == [amended, amended, forged, rolled]
    assert last_three[3]["trigger"] == "rollback"


def test_every_image_and_path_limits(repo: Repo) -> None:
    c = built(repo)
    everything = repo.history()
    web = [x for x in everything if x["image"] == "ghcr.io/acme/web"]
    assert [(x["commit"], x["old"], x["new"]) for x in web] == [
        (c["hand-staging"], "2.0.0", "2.1.0"),
        (c["seed"], None, "2.0.0"),
        (c["seed"], None, "2.0.0"),
        (c["seed"], None, "2.0.0"),
    ]
    staging = repo.history("--path", "apps/api/overlays/staging", API)
    assert [(x["commit"], x["new"]) for x in staging] == [
        (c["hand-staging"], "1.5.0"),
        (c["seed"], "1.4.0"),
    ]


def test_max_count_and_since(repo: Repo) -> None:
    c = built(repo)
    assert [x["commit"] for x in repo.history("--max-count", "2", API)] == [
        c["revert"],
        c["bot-prod"],
    ]
    assert [x["commit"] for x in repo.history("--since", "25h", API)] == [
        c["revert"],
        c["bot-prod"],
    ]
    since = hours_ago(35)
    assert [x["commit"] for x in repo.history("--since", since, API)] == [
        c["revert"],
        c["bot-prod"],
        c["hand-staging"],
    ]


def test_text_output_is_one_escaped_line_per_change(repo: Repo) -> None:
    repo.edit({DEV: overlay("1.4.0")}, "seed", when=hours_ago(3))
    repo.edit({DEV: overlay("1.4.1")}, "bump", author="Mallory\x1b[2J <m@example.com>")
    result = run("history", "--repo", str(repo.path), API)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DATE", "COMMIT", "WHERE", "IMAGE", "CHANGE", "BY", "AUTHOR"]
    assert len(lines) == 3
    assert "\x1b" not in result.stdout and "Mallory\\x1b[2J <m@example.com>" in lines[1]
    assert f"{DEV}:5" in lines[1] and "1.4.0 -> 1.4.1" in lines[1] and "manual" in lines[1]
    assert "added 1.4.0" in lines[2]


def test_renames_are_followed_and_deleted_files_seen_under_a_path(repo: Repo) -> None:
    first = repo.edit({STAGING: overlay("1.4.0")}, "seed")
    bump = repo.edit({STAGING: overlay("1.4.1")}, "bump")
    git(repo.path, "mv", "apps/api/overlays/staging", "apps/api/overlays/stage")
    moved = repo.edit({}, "rename the overlay")
    after = repo.edit({"apps/api/overlays/stage/kustomization.yaml": overlay("1.4.2")}, "bump")
    changes = repo.history(API)
    assert [(x["commit"], x["file"], x["new"]) for x in changes] == [
        (after, "apps/api/overlays/stage/kustomization.yaml", "1.4.2"),
        (bump, STAGING, "1.4.1"),
        (first, STAGING, "1.4.0"),
    ]
    assert moved not in [x["commit"] for x in changes]  # a rename alone changes no version
    gone = repo.edit({"apps/api/overlays/stage/kustomization.yaml": None}, "drop stage")
    assert repo.history(API) == []  # nothing at HEAD mentions it: name a --path
    under = repo.history("--path", "apps/api/overlays", API)
    assert (under[0]["commit"], under[0]["change"], under[0]["old"]) == (gone, "removed", "1.4.2")
    assert [x["commit"] for x in under] == [gone, after, bump, first]


def test_a_version_that_does_not_parse_is_skipped_with_a_note(repo: Repo) -> None:
    first = repo.edit({DEV: overlay("1.4.0")}, "seed")
    repo.edit({DEV: "images: [\n  - name: ghcr.io/acme/api\n"}, "broken")
    fixed = repo.edit({DEV: overlay("1.4.2")}, "fixed")
    result = run("history", "--repo", str(repo.path), "--json", API)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [x["commit"] for x in report["changes"]] == [first]
    assert len(report["notes"]) == 2 and all("skipped" in n for n in report["notes"])
    assert report["notes"][0].startswith(f"{DEV} at {fixed[:12]}: ")
    text = run("history", "--repo", str(repo.path), API)
    assert text.exit_code == 0 and "note: " in text.stderr


def test_bad_input_is_one_line(repo: Repo, tmp_path: Path) -> None:
    built(repo)
    for args, message in [
        (["--since", "yesterday-ish", API], "--since 'yesterday-ish': not a duration"),
        (["--max-count", "0", API], "--max-count must be 1 or more"),
        (["ghcr.io/acme/api:1.5.0"], "IMAGE 'ghcr.io/acme/api:1.5.0': give the repository"),
    ]:
        result = run("history", "--repo", str(repo.path), *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"updater: error: {message}")
        assert result.stderr.count("\n") == 1
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run("history", "--repo", str(plain), API)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"updater: error: --repo {plain}: not a git repository (history reads its commits)\n"
    )


def test_clone_options_with_a_directory_are_refused(repo: Repo) -> None:
    # A checkout's history is read as it is: an ignored --branch would show another
    # branch's changes than the one named. Refused as scan refuses it.
    built(repo)
    for flag, value in [("--branch", "release"), ("--forge", "gitlab"), ("--token-env", "T")]:
        result = run("history", "--repo", str(repo.path), flag, value, API)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"updater: error: {flag}: only with a URL --repo (a directory is read as it is)\n"
        )
        assert result.stdout == ""


def _bare(repo: Repo, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")
    return bare


def test_a_shallow_clone_is_deepened_as_far_as_needed(repo: Repo, tmp_path: Path) -> None:
    first = repo.edit({DEV: overlay("1.4.0")}, "seed", when=hours_ago(400))
    bump = repo.edit({DEV: overlay("1.4.1")}, "bump", when=hours_ago(300))
    for n in range(150):
        repo.edit({"README.md": f"{n}\n"}, f"docs {n}", when=hours_ago(299 - n))
    last = repo.edit({DEV: overlay("1.4.2")}, "bump", when=hours_ago(100))
    for n in range(3):
        repo.edit({"README.md": f"again {n}\n"}, f"docs again {n}", when=hours_ago(90 - n))
    bare = _bare(repo, tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", bare.as_uri(), str(clone))

    one = run("history", "--repo", str(clone), "--json", "--max-count", "1", API)
    assert one.exit_code == 0, one.output
    assert [x["commit"] for x in json.loads(one.stdout)["changes"]] == [last]
    depth = int(git(clone, "rev-list", "--count", "HEAD"))
    assert 1 < depth < 100  # deepened a little, not to the root
    assert (clone / ".git" / "shallow").exists()

    since = run("history", "--repo", str(clone), "--json", "--since", "200h", API)
    assert [x["commit"] for x in json.loads(since.stdout)["changes"]] == [last]

    full = run("history", "--repo", str(clone), "--json", API)
    assert [x["commit"] for x in json.loads(full.stdout)["changes"]] == [last, bump, first]
    assert not (clone / ".git" / "shallow").exists()


def test_a_shallow_clone_without_a_remote_says_where_history_ends(
    repo: Repo, tmp_path: Path
) -> None:
    repo.edit({DEV: overlay("1.4.0")}, "seed")
    repo.edit({DEV: overlay("1.4.1")}, "bump")
    last = repo.edit({DEV: overlay("1.4.2")}, "bump")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "2", _bare(repo, tmp_path).as_uri(), str(clone))
    git(clone, "remote", "remove", "origin")
    result = run("history", "--repo", str(clone), "--json", API)
    report = json.loads(result.stdout)
    assert [x["commit"] for x in report["changes"]] == [last]
    assert report["truncated_at"] is not None
    assert "a shallow clone with no remote to deepen from" in report["notes"][-1]


def test_a_url_repo_is_cloned_and_deepened(repo: Repo, tmp_path: Path) -> None:
    c = built(repo)
    bare = _bare(repo, tmp_path)
    result = run("history", "--repo", bare.as_uri(), "--json", API)
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)["changes"]
    assert [x["commit"] for x in changes] == [x["commit"] for x in repo.history(API)]
    assert changes[0]["commit"] == c["revert"]
    staging = run(
        "history", "--repo", bare.as_uri(), "--path", "apps/api/overlays/staging", "--json", API
    )
    assert [x["commit"] for x in json.loads(staging.stdout)["changes"]] == [
        c["hand-staging"],
        c["seed"],
    ]


def test_a_rename_inside_the_walked_directory_is_followed(repo: Repo) -> None:
    old = "apps/api/overlays/production/kustomization.yaml"
    first = repo.edit({DEV: overlay("1.0.0"), old: overlay("1.0.0")}, "seed")
    bump = repo.edit({old: overlay("1.1.0")}, "bump production")
    git(repo.path, "mv", "apps/api/overlays/production", "apps/api/overlays/prod")
    repo.edit({PROD: overlay("1.2.0")}, "rename and bump")  # one commit: git sees R
    changes = repo.history(API)
    assert [(x["file"], x["old"], x["new"], x["renamed_from"]) for x in changes] == [
        (PROD, "1.1.0", "1.2.0", old),
        (old, "1.0.0", "1.1.0", None),
        (DEV, None, "1.0.0", None),
        (old, None, "1.0.0", None),
    ]
    assert [x["commit"] for x in changes[1:]] == [bump, first, first]
    untouched = "apps/api/overlays/dev/other.yaml"  # a file that never named the image
    repo.edit({untouched: "replicas: 2\n"}, "unrelated")
    assert len(repo.history(API)) == 4
