# bgplabd as a drop-in for the BIRD image the field report runs (ibhde/bird4):
#
#   docker run -itd --net=host --uts=host --cap-add=NET_ADMIN --cap-add=NET_BROADCAST \
#     --cap-add=NET_RAW -v /bird/:/etc/bird:ro bgplab/bgplabd
#
# Anywhere with a registry: `docker build -t bgplab/bgplabd .` (the base comes from Docker
# Hub). Without one, scripts/image makes debian:bookworm-slim from Debian's packages first.
# docs/container.md says what runs where and why.
ARG BASE=debian:bookworm-slim

# ---- build: a virtualenv with bgplab and its pure-Python dependencies -------------------
# The compiler is here only for bgplab's one compiled part, the RIB's int-keyed maps
# (setup.py, src/bgplab/_intmap.c: a full table in about two thirds of the memory); the
# final stage copies the built virtualenv and has no compiler.
FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md /src/
COPY src /src/src
# The CA bundle the builder's host trusts (scripts/image passes it as the secret `cacert`):
# pip behind an intercepting proxy needs it, and a secret mount never lands in a layer.
RUN --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
 && python3 -m venv /opt/bgplab \
 && /opt/bgplab/bin/pip install /src \
 && /opt/bgplab/bin/pip uninstall -y pip setuptools

# ---- final: python3 and the virtualenv; no compiler, no pip ------------------------------
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* \
 && groupadd --system --gid 179 bird \
 && useradd --system --uid 179 --gid bird --home-dir /run/bird --shell /usr/sbin/nologin bird \
 && mkdir -p /etc/bird /run/bird \
 && chown bird:bird /run/bird && chmod 0750 /run/bird
COPY --from=build /opt/bgplab /opt/bgplab
# BIRD's names, so scripts and `docker exec ROUTER birdc show protocols` work unchanged;
# bird6/birdc6 for IPv6 (a second container with --entrypoint bird6, as BIRD 1.x runs two).
RUN ln -s /opt/bgplab/bin/bgplabd /usr/local/sbin/bird \
 && ln -s /opt/bgplab/bin/bgplabc /usr/local/sbin/birdc \
 && ln -s /opt/bgplab/bin/bgplabd /usr/local/sbin/bgplabd \
 && ln -s /opt/bgplab/bin/bgplabc /usr/local/bin/bgplabc \
 && ln -s /opt/bgplab/bin/bgplab /usr/local/bin/bgplab \
 && ln -s /opt/bgplab/bin/bgplabd6 /usr/local/sbin/bird6 \
 && printf '#!/bin/sh\nexec /opt/bgplab/bin/bgplabc -s /run/bird/bird6.ctl "$@"\n' \
      > /usr/local/sbin/birdc6 \
 && printf '%s\n' '#!/bin/sh' \
      '# the log on stdout, where container logs are read; PID 1 stays the daemon (exec)' \
      'exec 2>&1' \
      'case "$1" in -*|"") set -- bird "$@" ;; esac' \
      'exec "$@"' > /usr/local/sbin/docker-entrypoint \
 && chmod 0755 /usr/local/sbin/birdc6 /usr/local/sbin/docker-entrypoint \
 && bird --version
# Config at /etc/bird/bird.conf (the seed's -v /bird/:/etc/bird:ro), control socket
# /run/bird/bird.ctl; without `log` statements and /dev/log, messages go to stderr, which
# the entry point joins to stdout (the container log). PID 1 is bgplabd itself: SIGTERM/SIGINT shut down, SIGHUP re-reads the
# config. It starts as root (netlink, port 179), then drops to user bird keeping
# NET_ADMIN, NET_BIND_SERVICE and NET_RAW, as `bird -u bird -g bird` does.
VOLUME ["/etc/bird"]
EXPOSE 179
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["birdc", "show", "status"]
# options go to bird (`docker run IMAGE -d`), a command runs as given (`IMAGE bird6 -f`)
ENTRYPOINT ["docker-entrypoint"]
CMD ["-f", "-u", "bird", "-g", "bird"]
