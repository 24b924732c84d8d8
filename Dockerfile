# gitops-updater container image.
#
#   docker build -t gitops-updater .                          # from source, needs PyPI
#   python -m build && docker build --build-arg VERSION=1.2.3 .   # the wheel in dist/
#
# Only BASE differs between a user's build and the offline one in the test suite, which
# passes a Debian base of its own and PIP_NO_INDEX=1 with every wheel in dist/.
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
# The version to install and to label the image with. A build from source gets it as
# its package version; a build from dist/ must name the wheel's version, or fails.
ARG VERSION=0.0.0
# PIP_* build args are environment variables of the RUN steps, so PIP_NO_INDEX=1 makes
# pip use dist/ alone.
ARG PIP_NO_INDEX
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_FIND_LINKS=/src/dist \
    SETUPTOOLS_SCM_PRETEND_VERSION_FOR_GITOPS_UPDATER=${VERSION}
COPY . /src
RUN set -eu; \
    set -- /src/dist/gitops_updater-*.whl; \
    if [ -e "$1" ]; then \
      [ "$#" -eq 1 ] || { echo "dist/ holds more than one gitops-updater wheel: $*" >&2; exit 1; }; \
      target=$1; \
    else \
      target=/src; \
    fi; \
    python3 -m venv /opt/gitops-updater; \
    # with the serve extra: the image runs the webhook receiver too (examples/serve)
    /opt/gitops-updater/bin/python -m pip install --quiet "$target[serve]"; \
    installed=$(/opt/gitops-updater/bin/python -c 'import updater; print(updater.__version__)'); \
    [ "$installed" = "$VERSION" ] || { echo "installed $installed but VERSION=$VERSION" >&2; exit 1; }; \
    # The bot needs no installer at run time: pip and setuptools are ~15 MB of it.
    /opt/gitops-updater/bin/python -m pip uninstall --quiet --yes pip setuptools wheel

FROM ${BASE}
ARG VERSION=0.0.0
ARG SOURCE=https://github.com/gitops-updater/gitops-updater
ARG REVISION=
LABEL org.opencontainers.image.title="gitops-updater" \
      org.opencontainers.image.description="Sets container image tags and digests in GitOps config repos, changing no other byte" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# git (and ssh for ssh:// remotes) only where the base lacks it; the package lists go.
RUN set -eu; \
    if ! command -v git >/dev/null 2>&1; then \
      if command -v apt-get >/dev/null 2>&1; then \
        apt-get update -q; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
          git openssh-client ca-certificates; \
        rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log; \
      elif command -v apk >/dev/null 2>&1; then \
        apk add --no-cache git openssh-client ca-certificates; \
      else \
        echo "the base image has no git and no apt-get or apk to install it" >&2; exit 1; \
      fi; \
    fi; \
    # CI runners check the repo out as another user (GitLab's docker executor: root,
    # world-writable): git would refuse it as "dubious ownership". In a container that
    # runs only the bot, the repo mounted or checked out is the one it was asked to edit.
    git config --system --add safe.directory '*'; \
    mkdir -p /home/updater; \
    chown 10001:10001 /home/updater
COPY --from=build /opt/gitops-updater /opt/gitops-updater
# A numeric user, so that Kubernetes' runAsNonRoot can check it without /etc/passwd.
USER 10001:10001
ENV PATH=/opt/gitops-updater/bin:${PATH} \
    HOME=/home/updater \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /home/updater
ENTRYPOINT ["updater"]
CMD ["--help"]
