"""--pull-request with PyGithub and python-gitlab against the loopback forge fake, over
real HTTP, with real bare git remotes. Every forge request is recorded and asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import forge_schemas
from tests.support.fakeforge import FakeForgeServer, Recorded
from tests.support.remotes import TOKEN, Remote, git, kustomization, run_updater
from updater.trailers import ImageChange, parse_trailers

pytestmark = pytest.mark.forge

PROD = "apps/overlays/prod/kustomization.yaml"
BRANCH = "updater/main/acme-api"


def github_args(forge: FakeForgeServer, remote: Remote, *extra: str) -> list[str]:
    return [
        "set-image",
        "--repo",
        remote.url,
        "--pull-request",
        "--json",
        "--forge",
        "github",
        "--api-url",
        forge.url,
        "--project",
        "acme/config",
        *extra,
    ]


def gitlab_args(forge: FakeForgeServer, remote: Remote, *extra: str) -> list[str]:
    return [
        "set-image",
        "--repo",
        remote.url,
        "--pull-request",
        "--json",
        "--forge",
        "gitlab",
        "--api-url",
        forge.url,
        "--project",
        "acme/config",
        *extra,
    ]


def run(args: list[str], variable: str = "GITHUB_TOKEN") -> dict[str, Any]:
    result = run_updater(*args, env={variable: TOKEN})
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    delivery: dict[str, Any] = json.loads(result.stdout)["delivery"]
    return delivery


def summary(requests: list[Recorded]) -> list[str]:
    return [f"{r.method} {r.path}" for r in requests]


def assert_github_responses_match_schema(forge: FakeForgeServer) -> None:
    if not forge_schemas.AVAILABLE:
        return  # the behaviour is still checked; conformance needs ../shared/schemas
    for record in forge.requests:
        if record.schema_path is None or record.status >= 400 or record.path.startswith("/api/v4"):
            continue
        status, schema = forge_schemas.github_response_schema(record.method, record.schema_path)
        assert record.status == status, record
        problems = forge_schemas.errors(forge_schemas.GITHUB, schema, record.response)
        assert not problems, (record, problems[:5])


@pytest.fixture
def github(forge: FakeForgeServer, remote: Remote) -> FakeForgeServer:
    forge.github.add_repo("acme/config", git_dir=remote.path)
    return forge


@pytest.fixture
def gitlab(forge: FakeForgeServer, remote: Remote) -> FakeForgeServer:
    forge.gitlab.add_project("acme/config", git_dir=remote.path)
    return forge


# =========================================================================== GitHub


def test_github_opens_a_pull_request(github: FakeForgeServer, remote: Remote) -> None:
    main = remote.log()
    delivery = run(
        github_args(
            github,
            remote,
            "--label",
            "deploy,prod",
            "--reviewer",
            "alice",
            "--reviewer",
            "acme/platform",
            "--assignee",
            "bob",
            "--auto-merge",
            "--merge-method",
            "squash",
            "ghcr.io/acme/api:1.1.0",
        )
    )
    assert delivery["pull_request_action"] == "created"
    assert delivery["pull_request_url"] == f"{github.url}/acme/config/pull/1"
    assert delivery["pull_request_number"] == 1
    assert delivery["branch"] == BRANCH and delivery["base"] == "main"
    # the base branch is untouched; the bot branch is one commit on top of it
    assert remote.log() == main
    assert remote.log(BRANCH)[1:] == main
    assert delivery["commit_sha"] == remote.branches()[BRANCH]
    assert 'newTag: "1.1.0"' in remote.show(PROD, BRANCH)
    trailers = parse_trailers(remote.message(BRANCH))  # the bot branch's commit has them too
    assert trailers is not None and trailers.trigger == "set-image" and trailers.run
    assert ImageChange("ghcr.io/acme/api", "1.0.0", "1.1.0", PROD, 7) in trailers.changes

    assert summary(github.requests) == [
        "GET /repos/acme/config",
        "GET /repos/acme/config/pulls",
        "POST /repos/acme/config/pulls",
        "POST /repos/acme/config/issues/1/labels",
        "POST /repos/acme/config/pulls/1/requested_reviewers",
        "POST /repos/acme/config/issues/1/assignees",
        "POST /graphql",
    ]
    listing = github.requests[1]
    assert listing.query == {"state": "open", "head": f"acme:{BRANCH}", "base": "main"}
    create = github.requests[2].body
    assert create["head"] == BRANCH and create["base"] == "main" and create["draft"] is False
    assert create["title"] == "Update ghcr.io/acme/api to 1.1.0"
    assert "| `ghcr.io/acme/api` | `1.0.0` | `1.1.0` |" in create["body"]
    assert f"`{PROD}`" in create["body"]
    assert github.requests[3].body in (["deploy", "prod"], {"labels": ["deploy", "prod"]})
    assert github.requests[4].body == {"reviewers": ["alice"], "team_reviewers": ["platform"]}
    assert github.requests[5].body == {"assignees": ["bob"]}
    graphql = github.requests[6].body
    assert "enablePullRequestAutoMerge" in graphql["query"]
    assert graphql["variables"]["input"]["mergeMethod"] == "SQUASH"
    assert all(r.headers["authorization"] == f"token {TOKEN}" for r in github.requests)
    pr = github.github.repos["acme/config"].pulls[1]
    assert (
        pr.labels == ["deploy", "prod"] and pr.reviewers == ["alice"] and pr.teams == ["platform"]
    )
    assert pr.auto_merge is not None and pr.auto_merge["merge_method"] == "squash"
    assert_github_responses_match_schema(github)


def test_github_rerun_changes_nothing(github: FakeForgeServer, remote: Remote) -> None:
    args = github_args(
        github, remote, "--label", "deploy", "--auto-merge", "ghcr.io/acme/api:1.1.0"
    )
    run(args)
    branches = remote.branches()
    github.requests.clear()
    delivery = run(args)
    assert delivery["pull_request_action"] == "unchanged"
    assert delivery["pushed"] is False
    assert delivery["commit_sha"] == branches[BRANCH]
    assert remote.branches() == branches
    assert github.writes() == []  # nothing opened, nothing edited, nothing re-labelled
    assert len(github.github.repos["acme/config"].pulls) == 1


def test_github_newer_tag_updates_the_same_branch_and_pr(
    github: FakeForgeServer, remote: Remote
) -> None:
    run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    first = remote.branches()[BRANCH]
    github.requests.clear()
    delivery = run(github_args(github, remote, "ghcr.io/acme/api:1.2.0"))
    assert delivery["pull_request_action"] == "updated"
    assert delivery["pull_request_url"] == f"{github.url}/acme/config/pull/1"
    assert delivery["pushed"] is True
    tip = remote.branches()[BRANCH]
    assert tip != first and remote.log(BRANCH)[1:] == remote.log()  # regenerated, one commit
    assert 'newTag: "1.2.0"' in remote.show(PROD, BRANCH)
    assert summary(github.writes()) == ["PATCH /repos/acme/config/pulls/1"]
    patch = github.writes()[0].body
    assert patch["title"] == "Update ghcr.io/acme/api to 1.2.0" and "`1.2.0`" in patch["body"]
    assert len(github.github.repos["acme/config"].pulls) == 1
    assert_github_responses_match_schema(github)


def test_github_base_moved_regenerates_the_commit(github: FakeForgeServer, remote: Remote) -> None:
    run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    new_main = remote.commit({"README.md": "moved\n"}, "unrelated change on main")
    github.requests.clear()
    delivery = run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    assert delivery["pull_request_action"] == "updated" and delivery["pushed"] is True
    assert remote.log(BRANCH)[1] == new_main
    assert github.writes() == []  # same title and body: only the branch moved


def test_github_base_already_up_to_date(github: FakeForgeServer, remote: Remote) -> None:
    delivery = run(github_args(github, remote, "ghcr.io/acme/api:1.0.0"))
    assert delivery["pull_request_action"] is None and delivery["commit_sha"] is None
    assert BRANCH not in remote.branches()
    assert github.writes() == []


def test_github_draft_and_user_reviewers_only(github: FakeForgeServer, remote: Remote) -> None:
    run(github_args(github, remote, "--draft", "--reviewer", "alice", "ghcr.io/acme/api:1.1.0"))
    assert github.calls("POST", r"/requested_reviewers$")[0].body == {"reviewers": ["alice"]}
    create = github.calls("POST", r"/pulls$")[0]
    assert create.body["draft"] is True
    assert github.github.repos["acme/config"].pulls[1].draft is True


def test_github_close_superseded(github: FakeForgeServer, remote: Remote) -> None:
    run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    assert BRANCH in remote.branches()
    delivery = run(
        github_args(
            github, remote, "--close-superseded", "ghcr.io/acme/api:1.2.0", "ghcr.io/acme/web:2.1.0"
        )
    )
    combined = "updater/main/acme-api_acme-web"
    assert delivery["branch"] == combined and delivery["pull_request_action"] == "created"
    assert delivery["superseded"] == [f"{github.url}/acme/config/pull/1"]
    pulls = github.github.repos["acme/config"].pulls
    assert pulls[1].state == "closed" and "superseded by" in pulls[1].body
    assert pulls[2].state == "open" and pulls[2].head == combined
    assert BRANCH not in remote.branches()  # the superseded bot branch is deleted
    assert combined in remote.branches()


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "token was rejected"), (403, "lacks permission"), (500, "server error")],
)
def test_github_refuses_access_before_anything_is_pushed(
    github: FakeForgeServer, remote: Remote, status: int, words: str
) -> None:
    github.fail("GET", r"^/repos/acme/config$", status)
    result = run_updater(
        *github_args(github, remote, "ghcr.io/acme/api:1.1.0"), env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.returncode == 5
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and f"HTTP {status}" in line and words in line, line
    assert TOKEN not in result.stdout + result.stderr
    assert list(remote.branches()) == ["main"]


def test_github_without_push_permission(github: FakeForgeServer, remote: Remote) -> None:
    github.github.repos["acme/config"].push_permission = False
    result = run_updater(
        *github_args(github, remote, "ghcr.io/acme/api:1.1.0"), env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.returncode == 5 and "cannot push" in result.stderr
    assert list(remote.branches()) == ["main"]


def test_github_bad_token(github: FakeForgeServer, remote: Remote) -> None:
    result = run_updater(
        *github_args(github, remote, "ghcr.io/acme/api:1.1.0"),
        env={"GITHUB_TOKEN": "ghp_wrong_wrong_wrong"},
    )
    assert result.returncode == 5 and "HTTP 401" in result.stderr
    assert "ghp_wrong_wrong_wrong" not in result.stderr
    assert list(remote.branches()) == ["main"]


@pytest.mark.parametrize("status", [403, 422, 500, 502])
def test_github_create_fails_and_the_new_branch_is_deleted(
    github: FakeForgeServer, remote: Remote, status: int
) -> None:
    github.fail("POST", r"/pulls$", status)
    result = run_updater(
        *github_args(github, remote, "ghcr.io/acme/api:1.1.0"), env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.returncode == 5
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert f"creating the pull request failed (HTTP {status})" in line
    assert "the bot branch was deleted again" in line
    assert list(remote.branches()) == ["main"]
    assert github.github.repos["acme/config"].pulls == {}


def test_github_labels_fail_after_create_closes_it_again(
    github: FakeForgeServer, remote: Remote
) -> None:
    github.fail("POST", r"/labels$", 422)
    result = run_updater(
        *github_args(github, remote, "--label", "x", "ghcr.io/acme/api:1.1.0"),
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.returncode == 5
    assert (
        "adding labels failed (HTTP 422)" in result.stderr and "was closed again" in result.stderr
    )
    assert list(remote.branches()) == ["main"]
    assert github.github.repos["acme/config"].pulls[1].state == "closed"


def test_github_update_fails_before_the_branch_moves(
    github: FakeForgeServer, remote: Remote
) -> None:
    """An existing PR is retitled before its branch is pushed: a refusal leaves both."""
    run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    before = remote.branches()[BRANCH]
    github.fail("PATCH", r"/pulls/1$", 503)
    result = run_updater(
        *github_args(github, remote, "ghcr.io/acme/api:1.2.0"), env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.returncode == 5
    assert "updating pull request #1 failed (HTTP 503)" in result.stderr
    assert remote.branches()[BRANCH] == before
    assert github.github.repos["acme/config"].pulls[1].title == "Update ghcr.io/acme/api to 1.1.0"


def test_github_needs_a_token(github: FakeForgeServer, remote: Remote) -> None:
    result = run_updater(*github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    assert result.returncode == 2
    assert "needs a token: set GITHUB_TOKEN or GH_TOKEN or pass --token-env" in result.stderr
    assert github.requests == []


def test_github_token_env_and_gh_token(github: FakeForgeServer, remote: Remote) -> None:
    result = run_updater(
        *github_args(github, remote, "--token-env", "MY_BOT_TOKEN", "ghcr.io/acme/api:1.1.0"),
        env={"MY_BOT_TOKEN": TOKEN, "GITHUB_TOKEN": "ignored-token-value"},
    )
    assert result.returncode == 0, result.stderr
    assert github.requests[0].headers["authorization"] == f"token {TOKEN}"
    github.requests.clear()
    delivery = run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"), variable="GH_TOKEN")
    assert delivery["pull_request_action"] == "unchanged"


def test_github_two_runs_for_different_images_open_two_prs(
    github: FakeForgeServer, remote: Remote
) -> None:
    run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    run(github_args(github, remote, "ghcr.io/acme/web:2.1.0"))
    pulls = github.github.repos["acme/config"].pulls
    assert [p.head for p in pulls.values()] == [BRANCH, "updater/main/acme-web"]
    assert all(p.state == "open" for p in pulls.values())


# =========================================================================== GitLab


def test_gitlab_opens_a_merge_request(gitlab: FakeForgeServer, remote: Remote) -> None:
    delivery = run(
        gitlab_args(
            gitlab,
            remote,
            "--label",
            "deploy",
            "--reviewer",
            "alice",
            "--assignee",
            "103",
            "--draft",
            "--auto-merge",
            "ghcr.io/acme/api:1.1.0",
        ),
        variable="GITLAB_TOKEN",
    )
    assert delivery["pull_request_action"] == "created"
    assert delivery["pull_request_url"] == f"{gitlab.url}/acme/config/-/merge_requests/1"
    assert delivery["branch"] == BRANCH
    assert summary(gitlab.requests) == [
        "GET /api/v4/projects/acme%2Fconfig",
        "GET /api/v4/projects/42/merge_requests",
        "GET /api/v4/users",
        "POST /api/v4/projects/42/merge_requests",
        "PUT /api/v4/projects/42/merge_requests/1/merge",
    ]
    assert all(r.headers["private-token"] == TOKEN for r in gitlab.requests)
    listing = gitlab.requests[1]
    assert listing.query["state"] == "opened"
    assert listing.query["source_branch"] == BRANCH and listing.query["target_branch"] == "main"
    create = gitlab.requests[3].body
    assert create["title"] == "Draft: Update ghcr.io/acme/api to 1.1.0"
    assert create["source_branch"] == BRANCH and create["target_branch"] == "main"
    assert create["reviewer_ids"] == [101] and create["assignee_ids"] == [103]
    assert create["labels"] in ("deploy", ["deploy"]) and create["remove_source_branch"] is True
    assert gitlab.requests[4].body == {"merge_when_pipeline_succeeds": True, "auto_merge": True}
    mr = gitlab.gitlab.projects["acme/config"].mrs[1]
    assert mr.merge_when_pipeline_succeeds and mr.labels == ["deploy"]
    for record in gitlab.requests if forge_schemas.AVAILABLE else ():
        if record.schema_path and record.method in ("POST", "PUT"):
            _, schema = forge_schemas.gitlab_response_schema(record.method, record.schema_path)
            assert not forge_schemas.gitlab_entity_errors(schema, record.response)


def test_gitlab_rerun_and_update(gitlab: FakeForgeServer, remote: Remote) -> None:
    args = gitlab_args(
        gitlab, remote, "--label", "deploy", "--auto-merge", "ghcr.io/acme/api:1.1.0"
    )
    run(args, variable="GITLAB_TOKEN")
    gitlab.requests.clear()
    again = run(args, variable="GITLAB_TOKEN")
    assert again["pull_request_action"] == "unchanged" and gitlab.writes() == []
    newer = run(
        gitlab_args(gitlab, remote, "--label", "deploy", "ghcr.io/acme/api:1.2.0"),
        variable="GITLAB_TOKEN",
    )
    assert newer["pull_request_action"] == "updated"
    puts = gitlab.writes()
    assert summary(puts) == ["PUT /api/v4/projects/42/merge_requests/1"]
    assert puts[0].body["title"] == "Update ghcr.io/acme/api to 1.2.0"
    assert len(gitlab.gitlab.projects["acme/config"].mrs) == 1
    assert 'newTag: "1.2.0"' in remote.show(PROD, BRANCH)


def test_gitlab_close_superseded(gitlab: FakeForgeServer, remote: Remote) -> None:
    run(gitlab_args(gitlab, remote, "ghcr.io/acme/web:2.1.0"), variable="GITLAB_TOKEN")
    delivery = run(
        gitlab_args(
            gitlab, remote, "--close-superseded", "ghcr.io/acme/api:1.1.0", "ghcr.io/acme/web:2.1.0"
        ),
        variable="GITLAB_TOKEN",
    )
    mrs = gitlab.gitlab.projects["acme/config"].mrs
    assert mrs[1].state == "closed" and mrs[2].state == "opened"
    assert delivery["superseded"] == [f"{gitlab.url}/acme/config/-/merge_requests/1"]
    close = [r for r in gitlab.writes() if r.body and r.body.get("state_event") == "close"]
    assert len(close) == 1


def test_gitlab_job_token(gitlab: FakeForgeServer, remote: Remote) -> None:
    run(gitlab_args(gitlab, remote, "ghcr.io/acme/api:1.1.0"), variable="CI_JOB_TOKEN")
    assert all(r.headers.get("job-token") == TOKEN for r in gitlab.requests)
    assert all("private-token" not in r.headers for r in gitlab.requests)


@pytest.mark.parametrize("status", [401, 403, 500])
def test_gitlab_create_fails_and_the_new_branch_is_deleted(
    gitlab: FakeForgeServer, remote: Remote, status: int
) -> None:
    gitlab.fail("POST", r"/merge_requests$", status, body={"message": f"{status} nope"})
    result = run_updater(
        *gitlab_args(gitlab, remote, "ghcr.io/acme/api:1.1.0"), env={"GITLAB_TOKEN": TOKEN}
    )
    assert result.returncode == 5
    assert f"creating the merge request failed (HTTP {status})" in result.stderr
    assert "the bot branch was deleted again" in result.stderr
    assert list(remote.branches()) == ["main"]


def test_gitlab_unknown_project(gitlab: FakeForgeServer, remote: Remote) -> None:
    args = gitlab_args(gitlab, remote, "ghcr.io/acme/api:1.1.0")
    args[args.index("acme/config")] = "acme/nope"
    result = run_updater(*args, env={"GITLAB_TOKEN": TOKEN})
    assert result.returncode == 5 and "HTTP 404" in result.stderr and "acme/nope" in result.stderr
    assert list(remote.branches()) == ["main"]


def test_forge_detection_needs_a_hint(remote: Remote) -> None:
    result = run_updater(
        "set-image",
        "--repo",
        remote.url,
        "--pull-request",
        "ghcr.io/acme/api:1.1.0",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.returncode == 2 and "pass --forge github|gitlab" in result.stderr


def test_local_checkout_pull_request(
    github: FakeForgeServer, remote: Remote, tmp_path: Any
) -> None:
    work = tmp_path / "work"
    git("clone", "-q", remote.url, str(work))
    delivery = run(
        [
            "set-image",
            "--repo",
            str(work),
            "--pull-request",
            "--json",
            "--forge",
            "github",
            "--api-url",
            github.url,
            "--project",
            "acme/config",
            "ghcr.io/acme/api:1.1.0",
        ]
    )
    assert delivery["pull_request_action"] == "created" and delivery["base"] == "main"
    assert 'newTag: "1.1.0"' in remote.show(PROD, BRANCH)
    assert (work / PROD).read_text() == kustomization("ghcr.io/acme/api", "1.0.0")


def test_github_push_refused_after_retitle_puts_the_title_back(
    github: FakeForgeServer, remote: Remote
) -> None:
    run(github_args(github, remote, "ghcr.io/acme/api:1.1.0"))
    before = remote.branches()[BRANCH]
    remote.hook("pre-receive", "echo 'bot branches are frozen' >&2\nexit 1\n")
    github.requests.clear()
    result = run_updater(
        *github_args(github, remote, "ghcr.io/acme/api:1.2.0"), env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.returncode == 5
    assert "refused: pre-receive hook declined (remote: bot branches are frozen)" in result.stderr
    assert "was given its old title back" in result.stderr
    patches = github.calls("PATCH")
    assert [p.body["title"] for p in patches] == [
        "Update ghcr.io/acme/api to 1.2.0",
        "Update ghcr.io/acme/api to 1.1.0",
    ]
    pr = github.github.repos["acme/config"].pulls[1]
    assert pr.title == "Update ghcr.io/acme/api to 1.1.0" and "`1.1.0`" in pr.body
    assert remote.branches()[BRANCH] == before


def test_github_concurrent_runs_for_the_same_images_share_one_pr(
    github: FakeForgeServer, remote: Remote
) -> None:
    import subprocess
    import sys

    from tests.support.remotes import REPO_ROOT

    args = github_args(github, remote, "ghcr.io/acme/api:1.1.0")
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT), "GITHUB_TOKEN": TOKEN}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "updater", *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    for proc, _, err in results:
        assert proc.returncode == 0, err
    actions = sorted(json.loads(out)["delivery"]["pull_request_action"] for _, out, _ in results)
    assert actions.count("created") == 1
    pulls = github.github.repos["acme/config"].pulls
    assert len(pulls) == 1 and pulls[1].state == "open"
    assert remote.log(BRANCH)[1:] == remote.log()
