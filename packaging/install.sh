#!/bin/sh
# Installs skiff as a systemd service, K3s-style:
#   curl -sfL <mirror>/install.sh | SKIFF_BINARY=./skiff-linux-arm64 sh -
#   SKIFF_BINARY=... SKIFF_URL=https://server:6443 SKIFF_TOKEN=... sh install.sh   (an agent)
# SKIFF_BINARY is the executable to install (no download: Skiff ships as one file you copy over).
# SKIFF_ROOT installs under another root and SKIFF_SKIP_START=true leaves the service stopped (tests, images).
set -eu

fail() { echo "skiff install: $*" >&2; exit 1; }

root=${SKIFF_ROOT:-}
binary=${SKIFF_BINARY:-}
[ -n "$binary" ] || fail "set SKIFF_BINARY to the skiff executable for this machine ($(uname -m))"
[ -f "$binary" ] || fail "SKIFF_BINARY $binary does not exist"

if [ -n "${SKIFF_URL:-}" ]; then
  [ -n "${SKIFF_TOKEN:-}" ] || fail "SKIFF_URL is set: an agent also needs SKIFF_TOKEN"
  unit=skiff-agent
  exec_args="agent"
  env_lines="SKIFF_SERVER=${SKIFF_URL}
SKIFF_TOKEN=${SKIFF_TOKEN}"
else
  unit=skiff
  exec_args="server"
  env_lines="${SKIFF_TOKEN:+SKIFF_TOKEN=${SKIFF_TOKEN}}"
fi

mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/etc/skiff" "$root/etc/default"
install -m 0755 "$binary" "$root/usr/local/bin/skiff"
cat > "$root/etc/systemd/system/${unit}.service" <<UNIT
[Unit]
Description=Skiff ${exec_args} (lightweight Kubernetes)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
EnvironmentFile=-/etc/default/${unit}
ExecStart=/usr/local/bin/skiff ${exec_args}
# containers outlive a restart of skiff; it adopts them again
KillMode=process
Delegate=yes
LimitNOFILE=1048576
TasksMax=infinity
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
UNIT
umask 077
printf '%s\n' "$env_lines" > "$root/etc/default/${unit}"

version=$("$root/usr/local/bin/skiff" version) || fail "the installed skiff does not run on this machine ($(uname -m))"
if [ "${SKIFF_SKIP_START:-false}" != true ]; then
  systemctl daemon-reload
  systemctl enable --now "${unit}.service"
fi
echo "skiff installed: ${unit}.service ($(echo "$version" | head -n 1))"
