#!/usr/bin/env bash
# Shared by netq's Dokku plugin (its triggers and subcommands): the host's settings, Dokku-styled output, and
# running netq without ever failing a deploy.
#
# Settings, in this order (the first that sets a variable wins):
#   1. the environment Dokku gives (its own /etc/default/dokku and ~dokku/.dokkurc exports included);
#   2. the plugin's config file, NETQ_CONFIG_FILE (default: $DOKKU_LIB_ROOT/config/netq/ENV): KEY=value lines,
#      `#` comments, an optional `export ` and optional quotes; only NETQ_*, REDIS_URL and LOG_LEVEL are read,
#      and the file is parsed, never sourced;
#   3. defaults: NETQ_BIN=netq (on PATH; may be a command with arguments, e.g. "node /opt/netq/bin/netq.js"),
#      NETQ_HOST_ID=local, NETQ_DOKKU_ROOT=$DOKKU_ROOT and NETQ_DOKKU_LIB_ROOT=$DOKKU_LIB_ROOT (Dokku mode).
#      An empty NETQ_DOKKU_ROOT turns Dokku mode off (netq's label mode: Redis is the property store).

# Dokku's log styles (plugins/common/log.go).
netq_info1() { echo "-----> $*"; }
netq_header() { echo "=====> $*"; }
netq_verbose() { echo "       $*"; }
netq_warn() { echo " !     $*" >&2; }

# netq_config_file: where the plugin's settings live.
netq_config_file() {
  echo "${NETQ_CONFIG_FILE:-${DOKKU_LIB_ROOT:-/var/lib/dokku}/config/netq/ENV}"
}

# netq_load_config: exports the settings (see above) and sets NETQ_CMD, the netq command as an array.
netq_load_config() {
  local file line key value
  file="$(netq_config_file)"
  if [[ -f "$file" && -r "$file" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      line="${line%$'\r'}"
      [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
      key="${BASH_REMATCH[2]}"
      value="${BASH_REMATCH[3]}"
      case "$key" in
        NETQ_CONFIG_FILE) continue ;;
        NETQ_* | REDIS_URL | LOG_LEVEL) ;;
        *) continue ;;
      esac
      if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
        value="${BASH_REMATCH[1]}"
      fi
      [[ -n "${!key+set}" ]] && continue # the environment wins
      export "$key=$value"
    done <"$file"
  fi
  export NETQ_BIN="${NETQ_BIN:-netq}"
  export NETQ_HOST_ID="${NETQ_HOST_ID:-local}"
  if [[ -z "${NETQ_DOKKU_ROOT+set}" && -n "${DOKKU_ROOT:-}" ]]; then
    export NETQ_DOKKU_ROOT="$DOKKU_ROOT"
  fi
  if [[ -z "${NETQ_DOKKU_LIB_ROOT+set}" && -n "${DOKKU_LIB_ROOT:-}" ]]; then
    export NETQ_DOKKU_LIB_ROOT="$DOKKU_LIB_ROOT"
  fi
  [[ -n "${NETQ_DOKKU_ROOT:-}" ]] || unset NETQ_DOKKU_ROOT
  [[ -n "${NETQ_DOKKU_LIB_ROOT:-}" ]] || unset NETQ_DOKKU_LIB_ROOT
  # word-split NETQ_BIN without glob expansion
  read -r -a NETQ_CMD <<<"$NETQ_BIN"
  [[ "${#NETQ_CMD[@]}" -gt 0 ]] || NETQ_CMD=(netq)
}

# netq_dokku_mode: true when netq reads Dokku's files (NETQ_DOKKU_ROOT set).
netq_dokku_mode() {
  [[ -n "${NETQ_DOKKU_ROOT:-}" ]]
}

# netq_available: true when NETQ_BIN can be run.
netq_available() {
  command -v "${NETQ_CMD[0]}" >/dev/null 2>&1 || return 1
  "${NETQ_CMD[@]}" help >/dev/null 2>&1
}

# netq_exec <arguments…>: runs netq with the host's settings, its output and exit status as they are.
netq_exec() {
  "${NETQ_CMD[@]}" "$@"
}

# netq_run <what> <netq arguments…>: runs netq quietly; on failure says so on stderr (with netq's own reason)
# and still returns 0, so that no deploy fails because of netq.
netq_run() {
  local what="$1" err
  shift
  if ! err="$("${NETQ_CMD[@]}" "$@" 2>&1 >/dev/null)"; then
    err="$(netq_first_line "$err")"
    netq_warn "netq: could not $what (is Redis reachable?)${err:+: $err}"
  fi
  return 0
}

# netq_first_line <text>: the first non-empty line, without netq's own `netq: ` or ` !     ` prefix.
netq_first_line() {
  local line
  while IFS= read -r line; do
    line="${line# !     }"
    line="${line#netq: }"
    [[ -n "${line//[[:space:]]/}" ]] || continue
    echo "$line"
    return 0
  done <<<"$1"
}

# netq_try <seconds> <netq arguments…>: runs netq for at most that long; sets NETQ_OUT (its stdout) and
# NETQ_ERR (the first line of its stderr, or why it did not finish) and returns its exit status.
netq_try() {
  local seconds="$1" errfile rc=0
  shift
  # shellcheck disable=SC2034 # read by the callers
  NETQ_OUT=""
  NETQ_ERR=""
  errfile="$(mktemp 2>/dev/null || echo "/tmp/netq-plugin-$$-$RANDOM")"
  # shellcheck disable=SC2034
  NETQ_OUT="$(timeout -k 2 "$seconds" "${NETQ_CMD[@]}" "$@" 2>"$errfile")" || rc=$?
  NETQ_ERR="$(netq_first_line "$(cat "$errfile" 2>/dev/null)")"
  rm -f "$errfile"
  if [[ "$rc" -eq 124 || "$rc" -eq 137 ]]; then
    NETQ_ERR="no answer from netq within ${seconds}s (is Redis reachable?)"
  elif [[ "$rc" -eq 127 && -z "$NETQ_ERR" ]]; then
    NETQ_ERR="cannot run NETQ_BIN=$NETQ_BIN"
  fi
  return "$rc"
}

# netq_queue_rebuild <app>: queues a (debounced) rebuild of the app on this host and returns at once.
netq_queue_rebuild() {
  local app="$1"
  [[ -n "$app" ]] || return 0
  netq_run "queue a network rebuild of $app" network:rebuild "$app" --no-wait --host "$NETQ_HOST_ID" --timeout 3
}

# netq_app_exists <app>: Dokku's check (an app is a folder of DOKKU_ROOT); true when Dokku's root is unknown.
netq_app_exists() {
  local app="$1"
  [[ -n "${DOKKU_ROOT:-}" ]] || return 0
  [[ "$app" != */* && "$app" != .* && -d "$DOKKU_ROOT/$app" ]]
}

# netq_verify_app <app>: fails as Dokku's verify_app_name does (exit 1 without an app, 20 for an unknown one).
netq_verify_app() {
  local app="$1"
  if [[ -z "$app" ]]; then
    netq_warn "Please specify an app to run the command on"
    exit 1
  fi
  if ! netq_app_exists "$app"; then
    netq_warn "App $app does not exist"
    exit 20
  fi
}

netq_load_config
