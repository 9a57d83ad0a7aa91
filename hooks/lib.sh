#!/usr/bin/env bash
# Shared by netq's Dokku plugin triggers: queue work without waiting for it, and never fail a deploy.
# NETQ_BIN: how to run netq (default: `netq` on PATH). NETQ_HOST_ID: this Dokku host's name in netq.

# netq_run <what> <netq arguments…>: runs netq; on failure says so on stderr and still returns 0.
netq_run() {
  local what="$1"
  shift
  # shellcheck disable=SC2086 # NETQ_BIN may be a command with arguments, e.g. "node /opt/netq/bin/netq.js"
  if ! ${NETQ_BIN:-netq} "$@" >/dev/null; then
    echo " !     netq: could not $what (is Redis reachable?)" >&2
  fi
  return 0
}

netq_queue_rebuild() {
  local app="$1"
  [[ -n "$app" ]] || return 0
  netq_run "queue a network rebuild of $app" network:rebuild "$app" --no-wait --host "${NETQ_HOST_ID:-local}" --timeout 3
}
