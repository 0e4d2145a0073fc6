# fakevoipbin as an image: docker run -p 8088:8088 IMAGE serves the API at once.
# Build: make image (docker, or podman where docker has no daemon), or
#   docker build -t fakevoipbin .
# Every setting comes from a FAKEVOIPBIN_<NAME> variable (docs/options.md); a flag after
# the image name overrides it: docker run IMAGE serve --profile live
ARG BASE=python:3.12-slim

# --- stage 1: the wheel of fakevoipbin and of each dependency ---------------------------
FROM ${BASE} AS build
# A build that must trust another CA to reach the package index names its bundle here
# (podman build -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro
#  --build-arg PIP_CERT=/run/host-ca.crt); empty means the base image's own roots.
ARG PIP_CERT=
WORKDIR /src
COPY pyproject.toml README.md LICENSE openapi.yaml openapi-control.yaml ./
COPY fixtures ./fixtures
COPY fakevoipbin ./fakevoipbin
RUN python3 -m venv /tmp/pip \
 && /tmp/pip/bin/python -m pip wheel --quiet --no-cache-dir --disable-pip-version-check \
      ${PIP_CERT:+--cert "$PIP_CERT"} --wheel-dir /wheels .

# --- stage 2: those wheels installed, offline, in a venv of their own -------------------
FROM ${BASE}
LABEL org.opencontainers.image.title="fakevoipbin" \
      org.opencontainers.image.description="A local, deterministic fake of the VoIPbin access-key API" \
      org.opencontainers.image.licenses="MIT"
ARG UID=10001
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/fakevoipbin \
 && /opt/fakevoipbin/bin/python -m pip install --quiet --no-cache-dir --no-index \
      --disable-pip-version-check --find-links /wheels fakevoipbin \
 && /opt/fakevoipbin/bin/python -m pip uninstall --quiet --yes pip setuptools \
 && mkdir -p /data /tls \
 && chown ${UID}:0 /data /tls
ENV PATH=/opt/fakevoipbin/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FAKEVOIPBIN_HOST=0.0.0.0 \
    FAKEVOIPBIN_PORT=8088
# Not root. /data (for FAKEVOIPBIN_STATE_FILE) and /tls (for FAKEVOIPBIN_TLS_DIR) are its own.
USER ${UID}:0
WORKDIR /data
EXPOSE 8088
# GET /ping on the port and scheme FAKEVOIPBIN_PORT and FAKEVOIPBIN_TLS say, without curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python3", "-m", "fakevoipbin.healthcheck"]
ENTRYPOINT ["fakevoipbin"]
CMD ["serve"]
