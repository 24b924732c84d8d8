"""gitops-updater: rewrite container image tags in GitOps config repos, byte-minimally."""

from __future__ import annotations

__version__ = "0.1.0"
