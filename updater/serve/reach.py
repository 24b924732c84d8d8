"""``/readyz``'s start-up check: can the config repo be reached, with the credentials
delivery would use? (``git ls-remote``, under the run's deadline.)"""

from __future__ import annotations

from pathlib import Path

from updater.deliver.options import DeliveryOptions
from updater.errors import DeliveryError

REMOTE_MODES = ("push", "pull-request")


def check_repo(repo: str, mode: str, options: DeliveryOptions) -> None:
    """Raise an UpdaterError (one redacted line) when ``repo`` cannot be reached."""
    from updater import forges, git, remote

    redact = remote.Redactor()
    if remote.is_remote_url(repo):
        url, user, secret = remote.repo_credentials(repo)
    else:
        checkout = git.open_local(Path(repo), redact)
        if mode not in REMOTE_MODES:
            return  # a local mode needs the checkout only
        upstream = git.upstream_of(checkout)
        name = options.remote or (upstream[0] if upstream else "origin")
        url, user, secret = remote.split_credentials(git.remote_url(checkout, name))
    auth = forges.git_credentials(
        url,
        (user, secret),
        forge=options.forge,
        api_url=options.api_url,
        token_env=options.token_env,
        redact=redact,
    )
    status, _, err = git.run_git(
        None,
        ["ls-remote", "--heads", "--", url],
        env=git.auth_environment(url, auth),
        redact=redact,
        check=False,
    )
    if status != 0:
        reason = git.failure_reason(err) or "git ls-remote failed"
        raise DeliveryError(redact(f"cannot reach {remote.redact_url(url)}: {reason}"))
