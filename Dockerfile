# The issuer controller image: `issuer run` (the Deployment in manifests/) and `issuer acmesolver` (the
# ACME HTTP-01 solver Pods, same image).
#
# Two stages: the builder compiles what has no wheel (pyjks needs `twofish`, a C extension published as
# source only) into a virtualenv; the final image gets that virtualenv and no compiler.

FROM python:3.11-slim AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/issuer
WORKDIR /src
# README.md is the package's long description (pyproject.toml `readme`), so the build needs it.
COPY pyproject.toml README.md ./
COPY issuer/ issuer/
RUN /opt/issuer/bin/pip install --no-cache-dir .

FROM python:3.11-slim
COPY --from=builder /opt/issuer /opt/issuer
# Same uid/gid as the Deployment's securityContext (runAsUser/runAsGroup 1000).
RUN groupadd --gid 1000 issuer \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin issuer
ENV PATH=/opt/issuer/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so the kubelet can check runAsNonRoot without resolving a user name.
USER 1000:1000
WORKDIR /tmp
ENTRYPOINT ["issuer"]
CMD ["run"]
