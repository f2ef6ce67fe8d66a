# Sourced by the image scripts when they use podman: what podman needs on this project's
# machines, which have no Docker daemon and no registry. Their root lacks CAP_SYS_RESOURCE (so
# explicit ulimits) and has hybrid cgroups that crun does not handle (so runc); short names are
# searched in no registry. Configuration and storage are private, under
# /var/tmp/quiz-result-loader/podman.
podman_state=/var/tmp/quiz-result-loader/podman
mkdir -p "$podman_state/conf"
cat >"$podman_state/conf/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
cat >"$podman_state/conf/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$podman_state/run"
graphroot = "$podman_state/storage"
CONF
cat >"$podman_state/conf/registries.conf" <<CONF
unqualified-search-registries = []
short-name-mode = "disabled"
CONF
export CONTAINERS_CONF="$podman_state/conf/containers.conf" \
  CONTAINERS_STORAGE_CONF="$podman_state/conf/storage.conf" \
  CONTAINERS_REGISTRIES_CONF="$podman_state/conf/registries.conf"

# The Dockerfile's base, debian:bookworm, made from Debian's archive with debootstrap and
# imported under that name, when no registry can give it.
podman_base_image() {
  local base=docker.io/library/debian:bookworm
  podman --log-level=error image exists "$base" && return 0
  echo "== making $base from Debian's archive (debootstrap)"
  rm -rf "$podman_state/rootfs"
  debootstrap --variant=minbase bookworm "$podman_state/rootfs" http://deb.debian.org/debian \
    >"$podman_state/debootstrap.log" 2>&1 || { tail -20 "$podman_state/debootstrap.log"; return 1; }
  tar -C "$podman_state/rootfs" -c . | podman --log-level=error import - "$base" >/dev/null
  rm -rf "$podman_state/rootfs"
}
