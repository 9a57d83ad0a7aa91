#!/usr/bin/env bash
# bench/dokku-way.sh ROOT SCOPE_LABEL
#
# Contender A of `npm run bench`: what Dokku's `network:rebuildall` does, docker CLI call for docker CLI call.
# Apps are the folders of ROOT (as Dokku keeps them in DOKKU_ROOT). For each app: one `docker ps` filtered by
# label for its running containers; for each container one `docker container inspect --format` for its IP
# (and its dyno label) and, for a web container only, one more for its port (PORT from the environment, else
# the lowest exposed TCP port, else 5000: netq's rule; Dokku asks no port of other process types); then the
# files are written into the app's folder as Dokku writes them: IP.<proc>.<index> for every process type,
# PORT.web.<index> for web only, the value without a trailing newline. SCOPE_LABEL (k=v) keeps it to the
# bench's containers on a shared engine.
# Prints the number of containers configured, then the number that failed.
#
# This is generous to Dokku: Dokku itself also runs a `plugn trigger` (a process tree) per container for the
# IP, for the port and for each write, which costs more than the docker calls counted here.
set -euo pipefail
root="${1:?usage: dokku-way.sh ROOT SCOPE_LABEL}"
scope="${2:?usage: dokku-way.sh ROOT SCOPE_LABEL}"
configured=0
failed=0
for dir in "$root"/*/; do
  app="$(basename "$dir")"
  ids="$(docker ps -q --filter "label=com.dokku.app-name=$app" --filter "label=com.dokku.container-type=deploy" \
    --filter "label=$scope")"
  for id in $ids; do
    read -r dyno ip < <(docker container inspect \
      --format '{{index .Config.Labels "com.dokku.dyno"}} {{.NetworkSettings.Networks.bridge.IPAddress}}' "$id")
    if [[ "$dyno" != *.* || -z "${ip:-}" ]]; then
      failed=$((failed + 1))
      continue
    fi
    proc="${dyno%.*}"
    index="${dyno##*.}"
    printf '%s' "$ip" >"$dir/IP.$proc.$index"
    if [[ "$proc" == web ]]; then
      env_port=""
      exposed=""
      while IFS= read -r line; do
        case "$line" in
          PORT=*) env_port="${line#PORT=}" ;;
          */tcp)
            p="${line%/tcp}"
            if [[ -z "$exposed" ]] || ((p < exposed)); then exposed="$p"; fi
            ;;
        esac
      done < <(docker container inspect \
        --format '{{range .Config.Env}}{{println .}}{{end}}{{range $p, $v := .Config.ExposedPorts}}{{println $p}}{{end}}' \
        "$id")
      printf '%s' "${env_port:-${exposed:-5000}}" >"$dir/PORT.$proc.$index"
    fi
    configured=$((configured + 1))
  done
done
echo "$configured $failed"
