#!/usr/bin/env bash
# Runs one test in the stack ctest handed it: scripts/test.sh runs the sanitized suite with
# `ctest -j N --resource-spec-file` over N stacks, and ctest names the one a test holds in
# CTEST_RESOURCE_GROUP_0_STACKS ("id:2,slots:1"); that stack's environment is
# $QRL_LANES_DIR/stack-<id>.env. Without a stack (a plain ctest or a direct run) the test runs
# in the environment it was given.
set -euo pipefail
group=${CTEST_RESOURCE_GROUP_0_STACKS:-}
if [ -n "$group" ] && [ -n "${QRL_LANES_DIR:-}" ]; then
  id=${group#id:}
  id=${id%%,*}
  # shellcheck disable=SC1090
  . "$QRL_LANES_DIR/stack-$id.env"
fi
exec "$@"
