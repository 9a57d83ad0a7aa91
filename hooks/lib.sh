#!/usr/bin/env bash
# Shared by netq's Dokku plugin triggers: queue a rebuild without waiting, and never fail a deploy.
# NETQ_BIN: how to run netq (default: `netq` on PATH). NETQ_HOST_ID: this Dokku host's name in netq.
netq_queue_rebuild() {
  local app="$1"
  [[ -n "$app" ]] || return 0
  # shellcheck disable=SC2086 # NETQ_BIN may be a command with arguments, e.g. "node /opt/netq/bin/netq.js"
  if ! ${NETQ_BIN:-netq} network:rebuild "$app" --no-wait --host "${NETQ_HOST_ID:-local}" --timeout 3 >/dev/null; then
    echo " !     netq: could not queue a network rebuild of $app (is Redis reachable?)" >&2
  fi
  return 0
}
