"""gitops-updater: rewrite container image tags in GitOps config repos, byte-minimally."""

from __future__ import annotations


def _version() -> str:
    # The git tag is the one source of truth: setuptools-scm writes _version.py when the
    # package is built or installed (editable too). Without it (a source tree run from
    # PYTHONPATH) the installed distribution's metadata is asked, and failing that the
    # version says it is unknown rather than claiming a release.
    try:
        from updater._version import version
    except ImportError:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as distribution_version

        try:
            return distribution_version("gitops-updater")
        except PackageNotFoundError:
            return "0.0.0+unknown"
    return str(version)


__version__ = _version()
