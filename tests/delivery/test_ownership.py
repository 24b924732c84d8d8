"""The bot touches only its own PRs/MRs: head branch in the config repo (not a fork),
opened by the token's user, carrying the bot's marker. Strangers' PRs/MRs and forks'
same-named branches are left alone; asserted on every request the forge fake recorded.
The fake paginates like the real APIs, with small pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fakeforge import FakeForgeServer, Recorded
from tests.support.remotes import SEED, TOKEN, Remote, kustomization, run_updater

pytestmark = pytest.mark.forge

BRANCH = "updater/main/acme-api"


def marker(*images: str) -> str:
    data = json.dumps({"base": "main", "images": sorted(images)}, sort_keys=True)
    return f"Looks like the bot's.\n<!-- gitops-updater: {data} -->\n"


@pytest.fixture
def small_pages() -> Iterator[FakeForgeServer]:
    server = FakeForgeServer(TOKEN, page_size=2).start()
    try:
        yield server
    finally:
        server.stop()


def args(kind: str, forge: FakeForgeServer, remote: Remote, *extra: str) -> list[str]:
    return [
        "set-image", "--repo", remote.url, "--pull-request", "--json", "--forge", kind,
        "--api-url", forge.url, "--project", "acme/config", *extra,
    ]  # fmt: skip


def run(kind: str, forge: FakeForgeServer, remote: Remote, *extra: str) -> dict[str, Any]:
    variable = "GITHUB_TOKEN" if kind == "github" else "GITLAB_TOKEN"
    result = run_updater(*args(kind, forge, remote, *extra), env={variable: TOKEN})
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    delivery: dict[str, Any] = json.loads(result.stdout)["delivery"]
    return delivery


def writes_to(forge: FakeForgeServer, kind: str, number: int) -> list[Recorded]:
    """Every write the bot sent that concerns PR/MR ``number``."""
    if kind == "github":
        paths = (
            f"/repos/acme/config/pulls/{number}",
            f"/repos/acme/config/issues/{number}/",
            f"/repos/acme/config/pulls/{number}/",
        )
        node = __import__("base64").b64encode(f"PullRequest:{number}".encode()).decode()
        return [
            r
            for r in forge.writes()
            if r.path.startswith(paths) or r.path == f"/repos/acme/config/pulls/{number}"
            or (r.path == "/graphql" and node in json.dumps(r.body))
        ]  # fmt: skip
    prefix = "/api/v4/projects/42/merge_requests/"
    return [r for r in forge.writes() if r.path.rstrip("/").startswith(f"{prefix}{number}")]


def seed(kind: str, forge: FakeForgeServer, remote: Remote) -> None:
    if kind == "github":
        forge.github.add_repo("acme/config", git_dir=remote.path)
    else:
        forge.gitlab.add_project("acme/config", git_dir=remote.path)


def open_foreign(
    kind: str, forge: FakeForgeServer, head: str, body: str, *, author: str, fork: bool
) -> int:
    if kind == "github":
        pr = forge.github.open_pull(
            "acme/config", head, body=body, author=author, fork="alice" if fork else None
        )
        return pr.number
    mr = forge.gitlab.open_mr(
        "acme/config", head, description=body, author=author, fork_project_id=77 if fork else None
    )
    return mr.iid


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_a_forks_pr_with_the_bot_branchs_name_is_left_alone(
    forge: FakeForgeServer, remote: Remote, kind: str
) -> None:
    seed(kind, forge, remote)
    theirs = open_foreign(
        kind, forge, BRANCH, marker("ghcr.io/acme/api"), author="alice", fork=True
    )
    delivery = run(
        kind, forge, remote, "--label", "deploy", "--auto-merge", "ghcr.io/acme/api:1.1.0"
    )
    assert delivery["pull_request_action"] == "created"
    assert delivery["pull_request_number"] != theirs
    assert writes_to(forge, kind, theirs) == []
    if kind == "gitlab":  # GitHub's head=OWNER:BRANCH filter never lists the fork's
        assert delivery["left_alone"] == [f"{forge.url}/acme/config/-/merge_requests/{theirs}"]
    # a second run updates its own PR, still not theirs
    again = run(kind, forge, remote, "--label", "deploy", "ghcr.io/acme/api:1.2.0")
    assert again["pull_request_action"] == "updated"
    assert again["pull_request_number"] == delivery["pull_request_number"]
    assert writes_to(forge, kind, theirs) == []


@pytest.mark.parametrize("kind", ["github", "gitlab"])
@pytest.mark.parametrize("body", ["no marker at all", marker("ghcr.io/acme/api")])
def test_a_strangers_pr_from_the_bot_branch_stops_the_run(
    forge: FakeForgeServer, remote: Remote, kind: str, body: str
) -> None:
    """alice opened a PR from the bot's branch (copying the marker or not): pushing to it
    would change her PR, so nothing is pushed and nothing on the forge is written."""
    seed(kind, forge, remote)
    tip = remote.commit({"notes.txt": "alice's work\n"}, "alice's change", branch=BRANCH)
    theirs = open_foreign(kind, forge, BRANCH, body, author="alice", fork=False)
    variable = "GITHUB_TOKEN" if kind == "github" else "GITLAB_TOKEN"
    result = run_updater(
        *args(kind, forge, remote, "--auto-merge", "ghcr.io/acme/api:1.1.0"), env={variable: TOKEN}
    )
    assert result.returncode == 5, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "is not the bot's: it was opened by alice, not by gitops-bot" in line
    assert "nothing was pushed" in line
    assert remote.branches()[BRANCH] == tip
    assert forge.writes() == []
    assert writes_to(forge, kind, theirs) == []


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_close_superseded_touches_only_the_bots_own(
    small_pages: FakeForgeServer, kind: str, tmp_path: Any
) -> None:
    """Five of the bot's own PRs (over three pages), a stranger's same-repo PR and a
    fork's PR on bot-like branches. Only the bot's are closed; only branches whose tip
    is the bot's commit are deleted."""
    forge = small_pages
    files = dict(SEED)
    for i in range(5):
        files[f"apps/svc{i}/kustomization.yaml"] = kustomization(f"ghcr.io/acme/svc{i}", "1.0.0")
    remote = Remote(tmp_path / "remotes" / "acme" / "config.git", files)
    seed(kind, forge, remote)
    ours = []
    for i in range(5):
        ours.append(run(kind, forge, remote, f"ghcr.io/acme/svc{i}:1.1.0")["pull_request_number"])
    kept = remote.commit(
        {"notes.txt": "human\n"}, "a human's commit", branch="updater/main/acme-svc4"
    )
    stranger_branch = "updater/main/acme-svc0_acme-svc1"
    remote.commit({"x.txt": "alice\n"}, "alice", branch=stranger_branch)
    stranger = open_foreign(
        kind, forge, stranger_branch, marker("ghcr.io/acme/svc0", "ghcr.io/acme/svc1"),
        author="alice", fork=False,
    )  # fmt: skip
    forked = open_foreign(
        kind, forge, "updater/main/acme-svc2", marker("ghcr.io/acme/svc2"),
        author="alice", fork=True,
    )  # fmt: skip
    before = len(forge.requests)
    images = [f"ghcr.io/acme/svc{i}:1.2.0" for i in range(5)]
    delivery = run(kind, forge, remote, "--close-superseded", *images)
    assert delivery["pull_request_action"] == "created"
    assert len(delivery["superseded"]) == 5  # all five, from every page
    new_requests = forge.requests[before:]
    listings = [r for r in new_requests if r.method == "GET" and r.query.get("page")]
    assert listings, "the listing never went past the first page"
    assert all(r.query.get("state") in ("open", "opened") for r in listings)  # filters kept
    for number in (stranger, forked):
        assert writes_to(forge, kind, number) == []
    web = "pull" if kind == "github" else "-/merge_requests"
    assert sorted(delivery["left_alone"]) == sorted(
        f"{forge.url}/acme/config/{web}/{n}" for n in (stranger, forked)
    )
    branches = remote.branches()
    assert stranger_branch in branches  # a stranger's branch is never deleted
    assert branches["updater/main/acme-svc4"] == kept  # a human commit on it: kept
    for i in range(4):
        assert f"updater/main/acme-svc{i}" not in branches  # the bot's own: deleted
    assert len(ours) == 5


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_bots_own_is_found_past_the_first_page(
    small_pages: FakeForgeServer, remote: Remote, kind: str
) -> None:
    """More open PRs/MRs than one page holds, the bot's own the oldest, so on the last
    page (listings are newest first): a second run updates it and opens no other.
    GitLab lists forks' merge requests from a branch of the bot branch's name too."""
    forge = small_pages
    seed(kind, forge, remote)
    first = run(kind, forge, remote, "ghcr.io/acme/api:1.1.0")
    assert first["pull_request_action"] == "created"
    for i in range(3):
        open_foreign(kind, forge, BRANCH, marker("ghcr.io/acme/api"), author="alice", fork=True)
        remote.commit({f"n{i}.txt": "x\n"}, "alice", branch=f"alice-{i}")
        open_foreign(kind, forge, f"alice-{i}", "mine", author="alice", fork=False)
    before = len(forge.requests)
    again = run(kind, forge, remote, "ghcr.io/acme/api:1.2.0")
    assert again["pull_request_action"] == "updated"
    assert again["pull_request_number"] == first["pull_request_number"]
    listings = [
        r
        for r in forge.requests[before:]
        if r.method == "GET" and r.path.endswith(("/pulls", "/merge_requests"))
    ]
    filters = (
        ("head", "base", "state")
        if kind == "github"
        else ("source_branch", "target_branch", "state")
    )
    first_page = {k: listings[0].query.get(k) for k in filters}
    assert None not in first_page.values(), listings[0]
    later = [r for r in listings if r.query.get("page") not in (None, "1")]
    if kind == "gitlab":
        assert len(later) == 1, listings  # 4 matching merge requests, 2 a page
    for record in later:  # every next link kept the filters
        assert {k: record.query.get(k) for k in filters} == first_page, record
    if kind == "github":
        assert len(forge.github.repos["acme/config"].pulls) == 7
    else:
        assert len(forge.gitlab.projects["acme/config"].mrs) == 7


def follow(url: str, headers: dict[str, str]) -> list[tuple[dict[str, list[str]], Any, Any]]:
    """Every page of a listing, by its next links: (query sent, body, response headers)."""
    import urllib.request
    from urllib.parse import parse_qs, urlsplit

    pages = []
    while url:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            pages.append((parse_qs(urlsplit(url).query), json.load(answer), answer.headers))
            link = answer.headers.get("Link", "")
        url = link.partition("<")[2].partition(">")[0] if 'rel="next"' in link else ""
    return pages


def test_the_fakes_listings_page_like_the_real_apis(small_pages: FakeForgeServer) -> None:
    """Newest first, small pages, and a next link that keeps every filter (GitHub's
    head/base, GitLab's source/target branch), so a client reading only the first page,
    or dropping a filter, is caught."""
    forge = small_pages
    forge.github.add_repo("acme/config")
    forge.gitlab.add_project("acme/config")
    for _ in range(5):
        forge.github.open_pull("acme/config", BRANCH, author="alice")
        forge.gitlab.open_mr("acme/config", BRANCH, author="alice")
    forge.github.open_pull("acme/config", "other", author="alice")
    forge.gitlab.open_mr("acme/config", BRANCH, target_branch="release", author="alice")
    auth = {"Authorization": f"token {TOKEN}"}
    query = f"head=acme:{BRANCH}&base=main&state=open"
    pages = follow(f"{forge.url}/repos/acme/config/pulls?{query}", auth)
    assert [[p["number"] for p in body] for _, body, _ in pages] == [[5, 4], [3, 2], [1]]
    for sent, _, _ in pages:
        assert (sent["head"], sent["base"], sent["state"]) == (
            [f"acme:{BRANCH}"],
            ["main"],
            ["open"],
        )
    query = f"source_branch={BRANCH}&target_branch=main&state=opened"
    pages = follow(
        f"{forge.url}/api/v4/projects/42/merge_requests?{query}", {"PRIVATE-TOKEN": TOKEN}
    )
    assert [[m["iid"] for m in body] for _, body, _ in pages] == [[5, 4], [3, 2], [1]]
    assert [h["X-Next-Page"] for _, _, h in pages] == ["2", "3", ""]
    assert {h["X-Total"] for _, _, h in pages} == {"5"}
    for sent, _, _ in pages:
        assert (sent["source_branch"], sent["target_branch"]) == ([BRANCH], ["main"])
