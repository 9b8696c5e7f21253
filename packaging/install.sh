#!/bin/sh
# Installs Skiff as a service, as K3s's install.sh installs k3s:
#   curl -sfL <release-url>/install.sh | sh -                                   a server
#   curl -sfL <release-url>/install.sh | INSTALL_SKIFF_EXEC="server --disable servicelb" sh -
#   curl -sfL <release-url>/install.sh | SKIFF_URL=https://server:6443 SKIFF_TOKEN=... sh -   an agent
# Running it again upgrades: the new executable, unit and environment, and a restart if any changed.
#
# Environment (K3s's names, with SKIFF):
#   SKIFF_*, CONTAINERD_*, proxy variables   kept for the service in its environment file.
#       SKIFF_URL (the server an agent joins, as SKIFF_SERVER there) makes an agent unless
#       INSTALL_SKIFF_EXEC names the command; an agent needs SKIFF_TOKEN.
#   SKIFF_DOWNLOAD_URL           where the release files are (a copy of a release folder, or with
#                                INSTALL_SKIFF_VERSION the folder of one such copy per version)
#   INSTALL_SKIFF_VERSION        the release to install (default: the latest)
#   INSTALL_SKIFF_SKIP_DOWNLOAD  true: install the executable already at <bin dir>/skiff (air-gap)
#   INSTALL_SKIFF_EXEC           the service's command and flags (the script's arguments are added)
#   INSTALL_SKIFF_NAME           the service is skiff-<name> (default: skiff, or skiff-agent for an agent)
#   INSTALL_SKIFF_BIN_DIR        default /usr/local/bin: skiff, its links and the killall and uninstall scripts
#   INSTALL_SKIFF_SYSTEMD_DIR    default /etc/systemd/system: the unit and its environment file
#   INSTALL_SKIFF_CONFIG_DIR     default /etc/skiff: skiff's configuration, removed by uninstalling
#   INSTALL_SKIFF_SYMLINK        skip: no kubectl, crictl, ctr links; force: replace commands of those names
#   INSTALL_SKIFF_SKIP_ENABLE    true: neither enable nor start the service
#   INSTALL_SKIFF_SKIP_START     true: enable the service but do not start it
#   INSTALL_SKIFF_FORCE_RESTART  true: restart the service even when nothing changed
#   INSTALL_SKIFF_SKIP_DEPS      true: do not apt-get install containerd, runc, the CNI plugins, nftables (etcd for --cluster-init)
set -e
set -o noglob

DEFAULT_DOWNLOAD_URL=https://github.com/skiff-k8s/skiff/releases

info() { echo '[INFO] ' "$@"; }
warn() { echo '[WARN] ' "$@" >&2; }
fatal() {
    echo '[ERROR] ' "$@" >&2
    exit 1
}

# --- the service manager: OpenRC where it is (Alpine), else systemd ---
verify_system() {
    if [ -x /sbin/openrc-run ]; then
        HAS_SYSTEMD=false
    elif command -v systemctl >/dev/null 2>&1; then
        HAS_SYSTEMD=true
    else
        fatal 'neither systemd nor OpenRC is here to run skiff as a service'
    fi
}

# --- the arguments single-quoted for sh (and a unit's ExecStart), separated by spaces ---
quote() {
    sep=
    for arg in "$@"; do
        printf "%s'%s'" "${sep}" "$(printf '%s' "${arg}" | sed "s/'/'\\\\''/g")"
        sep=' '
    done
}

setup_env() {
    case "$1" in
    -* | "")
        if [ -z "${SKIFF_URL}" ]; then
            CMD_SKIFF=server
        else
            CMD_SKIFF=agent
        fi
        ;;
    *)
        CMD_SKIFF=$1
        shift
        ;;
    esac
    case "${SKIFF_URL}" in
    "" | https://*) ;;
    *) fatal "SKIFF_URL must be an https:// URL (have ${SKIFF_URL})" ;;
    esac
    if [ "${CMD_SKIFF}" = agent ] && [ -z "${SKIFF_TOKEN}" ]; then
        fatal 'an agent needs SKIFF_TOKEN (the server has it in /var/lib/skiff/server/node-token)'
    fi
    if [ -n "${SKIFF_URL}" ]; then
        export SKIFF_SERVER="${SKIFF_URL}"
        unset SKIFF_URL
    fi
    CMD_SKIFF_EXEC="${CMD_SKIFF}${1:+ $(quote "$@")}"

    if [ -n "${INSTALL_SKIFF_NAME}" ]; then
        SYSTEM_NAME=skiff-${INSTALL_SKIFF_NAME}
    elif [ "${CMD_SKIFF}" = server ]; then
        SYSTEM_NAME=skiff
    else
        SYSTEM_NAME=skiff-${CMD_SKIFF}
    fi
    case "${SYSTEM_NAME}" in
    *[!A-Za-z0-9_.-]*) fatal "the service name ${SYSTEM_NAME} may hold only letters, digits, '-', '_' and '.'" ;;
    esac

    SUDO=sudo
    [ "$(id -u)" -ne 0 ] || SUDO=

    BIN_DIR=${INSTALL_SKIFF_BIN_DIR:-/usr/local/bin}
    SYSTEMD_DIR=${INSTALL_SKIFF_SYSTEMD_DIR:-/etc/systemd/system}
    CONFIG_DIR=${INSTALL_SKIFF_CONFIG_DIR:-/etc/skiff}
    DATA_DIR=${SKIFF_DATA_DIR:-/var/lib/skiff}
    UNINSTALL_SKIFF_SH=${BIN_DIR}/${SYSTEM_NAME}-uninstall.sh
    KILLALL_SKIFF_SH=${BIN_DIR}/skiff-killall.sh
    if [ "${HAS_SYSTEMD}" = true ]; then
        FILE_SKIFF_SERVICE=${SYSTEMD_DIR}/${SYSTEM_NAME}.service
        FILE_SKIFF_ENV=${SYSTEMD_DIR}/${SYSTEM_NAME}.service.env
    else
        FILE_SKIFF_SERVICE=/etc/init.d/${SYSTEM_NAME}
        FILE_SKIFF_ENV=${CONFIG_DIR}/${SYSTEM_NAME}.env
    fi
    $SUDO mkdir -p "${BIN_DIR}" "$(dirname "${FILE_SKIFF_SERVICE}")" "$(dirname "${FILE_SKIFF_ENV}")"
    PRE_INSTALL_HASHES=$(installed_hashes)
}

# --- what decides a restart: the executable, the service file and its environment ---
installed_hashes() {
    $SUDO sha256sum "${BIN_DIR}/skiff" "${FILE_SKIFF_SERVICE}" "${FILE_SKIFF_ENV}" 2>&1 || true
}

# --- uname -m as release files name it ---
setup_verify_arch() {
    case $(uname -m) in
    x86_64 | amd64) ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    arm*) fatal 'Skiff has no build for 32-bit ARM: install a 64-bit OS (Raspberry Pi OS 64-bit runs on a Pi 3, 4 and 5)' ;;
    *) fatal "Skiff has no build for $(uname -m)" ;;
    esac
}

setup_tmp() {
    TMP_DIR=$(mktemp -d -t skiff-install.XXXXXXXXXX)
    cleanup() {
        code=$?
        set +e
        trap - EXIT
        rm -rf "${TMP_DIR}"
        exit $code
    }
    trap cleanup INT EXIT
}

download() {
    if command -v curl >/dev/null 2>&1; then
        curl -sfL -o "$1" "$2" || fatal "download of $2 failed"
    elif command -v wget >/dev/null 2>&1; then
        wget -qO "$1" "$2" || fatal "download of $2 failed"
    else
        fatal 'curl or wget is needed to download skiff'
    fi
}

# --- the executable, from the release and checked against its sha256sum.txt ---
download_and_verify() {
    if [ "${INSTALL_SKIFF_SKIP_DOWNLOAD}" = true ]; then
        info "Skipping the download: installing ${BIN_DIR}/skiff as it is"
        [ -x "${BIN_DIR}/skiff" ] || fatal "INSTALL_SKIFF_SKIP_DOWNLOAD=true but there is no executable ${BIN_DIR}/skiff: copy skiff-linux-$(uname -m) there"
        verify_runs "${BIN_DIR}/skiff"
        return
    fi
    setup_verify_arch
    setup_tmp
    if [ -n "${INSTALL_SKIFF_VERSION}" ]; then
        release_url=${SKIFF_DOWNLOAD_URL:-${DEFAULT_DOWNLOAD_URL}/download}/${INSTALL_SKIFF_VERSION}
    else
        release_url=${SKIFF_DOWNLOAD_URL:-${DEFAULT_DOWNLOAD_URL}/latest/download}
    fi
    file=skiff-linux-${ARCH}.xz
    info "Downloading ${release_url}/sha256sum.txt"
    download "${TMP_DIR}/sha256sum.txt" "${release_url}/sha256sum.txt"
    hash_expected=$(grep " ${file}\$" "${TMP_DIR}/sha256sum.txt" | cut -d' ' -f1) || true
    [ -n "${hash_expected}" ] || fatal "${release_url}/sha256sum.txt lists no ${file}"
    info "Downloading ${release_url}/${file}"
    download "${TMP_DIR}/${file}" "${release_url}/${file}"
    hash_got=$(sha256sum "${TMP_DIR}/${file}" | cut -d' ' -f1)
    [ "${hash_got}" = "${hash_expected}" ] || fatal "the download of ${file} is corrupt: its sha256 is ${hash_got}, the release says ${hash_expected}; nothing was installed"
    command -v xzcat >/dev/null 2>&1 || fatal 'xzcat is needed to unpack skiff: install xz-utils (xz on Alpine)'
    xzcat "${TMP_DIR}/${file}" >"${TMP_DIR}/skiff"
    chmod 755 "${TMP_DIR}/skiff"
    verify_runs "${TMP_DIR}/skiff"
    info "Installing skiff to ${BIN_DIR}/skiff"
    $SUDO chown root:root "${TMP_DIR}/skiff"
    $SUDO mv -f "${TMP_DIR}/skiff" "${BIN_DIR}/skiff"
}

verify_runs() {
    version=$("$1" version 2>/dev/null) || fatal "$1 does not run on this machine ($(uname -m)): is its user space 32-bit?"
    info "Installing $(echo "${version}" | head -n 1)"
}

# --- kubectl, crictl and ctr run skiff, which runs them with the node's settings ---
create_symlinks() {
    [ "${INSTALL_SKIFF_SYMLINK}" = skip ] && return
    for cmd in kubectl crictl ctr; do
        if [ -e "${BIN_DIR}/${cmd}" ] && [ "${INSTALL_SKIFF_SYMLINK}" != force ]; then
            info "Skipping ${BIN_DIR}/${cmd} symlink to skiff, already exists"
            continue
        fi
        which_cmd=$(command -v "${cmd}" 2>/dev/null || true)
        if [ -z "${which_cmd}" ] || [ "${INSTALL_SKIFF_SYMLINK}" = force ]; then
            info "Creating ${BIN_DIR}/${cmd} symlink to skiff"
            $SUDO ln -sf skiff "${BIN_DIR}/${cmd}"
        else
            info "Skipping ${BIN_DIR}/${cmd} symlink to skiff, command exists in PATH at ${which_cmd}"
        fi
    done
}

# --- what a node needs of the OS: containerd, runc, the CNI plugins, nftables (and a kubectl for skiff kubectl) ---
# --- and a server on embedded etcd (--cluster-init, or joining with --server) its etcd, and etcdctl for restores ---
install_deps() {
    missing=
    needed="containerd runc nft kubectl"
    # The arguments are quoted one by one in CMD_SKIFF_EXEC: server '--cluster-init' '--server=...'
    case "${CMD_SKIFF_EXEC}" in
    server*"'--cluster-init'"* | server*"'--server'"* | server*"'--server="*) needed="${needed} etcd etcdctl" ;;
    esac
    for cmd in ${needed}; do
        command -v "${cmd}" >/dev/null 2>&1 || missing="${missing} ${cmd}"
    done
    [ -x /usr/lib/cni/bridge ] || missing="${missing} cni"
    [ -n "${missing}" ] || return 0
    packages=$(echo "${missing}" | sed 's/ nft/ nftables/; s/ kubectl/ kubernetes-client/; s/ cni/ containernetworking-plugins/; s/ etcdctl/ etcd-client/; s/ etcd\( \|$\)/ etcd-server\1/')
    if [ "${INSTALL_SKIFF_SKIP_DEPS}" = true ]; then
        warn "Skipping the dependencies; this node still needs:${packages}"
        return
    fi
    os_id=$(sed -n 's/^ID=//p; s/^ID_LIKE=//p' /etc/os-release 2>/dev/null | tr -d '"')
    case " $(echo "${os_id}" | tr '\n' ' ') " in
    *" debian "* | *" raspbian "* | *" ubuntu "*)
        info "Installing${packages} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -q >/dev/null || fatal 'apt-get update failed'
        # shellcheck disable=SC2086 # one package a word
        $SUDO apt-get install -y -q ${packages} >/dev/null || fatal "apt-get install${packages} failed"
        ;;
    *)
        warn "Install${packages} with this OS's package manager (the CNI plugins into /usr/lib/cni) before skiff starts"
        ;;
    esac
}

create_killall() {
    info "Creating killall script ${KILLALL_SKIFF_SH}"
    {
        printf '#!/bin/sh\nSYSTEMD_DIR=%s\nDEFAULT_DATA_DIR=%s\n' "$(quote "${SYSTEMD_DIR}")" "$(quote "${DATA_DIR}")"
        cat <<\EOF
# Stops Skiff and everything its node runs: the service, every pod's containers and their shims, its
# containerd; unmounts what is mounted under its data dir and the pods' network namespaces; removes
# the pod network's devices and Skiff's firewall rules. Leaves the data: the next start goes on from it.
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=SKIFF_DATA_DIR "$0" "$@"
DATA_DIR=$(cd "${SKIFF_DATA_DIR:-${DEFAULT_DATA_DIR}}" 2>/dev/null && pwd -P) || DATA_DIR=${SKIFF_DATA_DIR:-${DEFAULT_DATA_DIR}}
# containerd's state is on tmpfs under /run/skiff for the system's data dir, else under the data dir
RUN_DIR=${DATA_DIR}/run
[ "${DATA_DIR}" != /var/lib/skiff ] || RUN_DIR=/run/skiff

for service in "${SYSTEMD_DIR}"/skiff*.service; do
    [ -s "${service}" ] && systemctl stop "$(basename "${service}")"
done
for service in /etc/init.d/skiff*; do
    [ -x "${service}" ] && "${service}" stop
done

# every process listed and all their descendants
tree() {
    ps -e -o pid= -o ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
        { parent[$1] = $2 }
        END {
            do { more = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; more = 1 } } while (more)
            for (p in want) print p
        }'
}

# this node's containerd and the shims it started, which the pods' processes run under
roots=$(ps -e -o pid= -o args= | CONFIG="--config ${DATA_DIR}/agent/containerd/config.toml" \
    ADDRESS="-address ${RUN_DIR}/containerd/containerd.sock" awk 'index($0, ENVIRON["CONFIG"]) || index($0, ENVIRON["ADDRESS"]) { print $1 }')
if [ -n "${roots}" ]; then
    # shellcheck disable=SC2086 # one pid a word
    pids=$(tree ${roots})
    own_netns=$(readlink /proc/self/ns/net)
    # the pods' network namespaces, to unmount once their processes are gone
    netns=$(for pid in ${pids}; do readlink "/proc/${pid}/ns/net"; done 2>/dev/null | sort -u | grep -vxF "${own_netns}" || true)
    echo "Killing the node's containerd, shims and pods: $(echo "${pids}" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -9 ${pids} 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        # shellcheck disable=SC2086
        kill -0 ${pids} 2>/dev/null || break
        sleep 0.5
    done
fi

# mount points of /proc/self/mountinfo: under the data and run dirs, and the pods' network namespaces
awk -v data="${DATA_DIR}/" -v run="${RUN_DIR}/" -v netns="$(echo "${netns}" | tr '\n' ' ')" '
    BEGIN { n = split(netns, ns, " "); for (i = 1; i <= n; i++) pod[ns[i]] = 1 }
    index($5 "/", data) == 1 || index($5 "/", run) == 1 || ($4 in pod) { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r mount; do
        umount "${mount}" 2>/dev/null || umount -l "${mount}"
        case "${mount}" in /run/netns/* | /var/run/netns/*) rm -f "${mount}" ;; esac
    done

# the pods' bridge (as the agent's CNI config names it), the pod network's tunnel and the cluster DNS address
bridge=$(sed -n 's/.*"bridge": *"\([^"]*\)".*/\1/p' "${DATA_DIR}/agent/etc/cni/net.d/10-skiff.conflist" 2>/dev/null)
for link in ${bridge} flannel.1 skiff-dns; do
    if ip link show "${link}" >/dev/null 2>&1; then
        echo "Deleting network device ${link}"
        ip link delete "${link}"
    fi
done
# the address leases of pods that are gone
rm -rf "${DATA_DIR}/agent/cni"

# Skiff's nftables (pod masquerading, Services, NetworkPolicy) and the CNI plugins' iptables rules (hostPort)
tables=$(nft list tables 2>/dev/null || true)
for table in 'ip skiff-podnet' 'ip skiff-services' 'inet skiff-netpol'; do
    if echo "${tables}" | grep -qxF "table ${table}"; then
        echo "Deleting nftables table ${table}"
        # shellcheck disable=SC2086 # family and name
        nft delete table ${table}
    fi
done
if command -v iptables-save >/dev/null 2>&1 && iptables-save 2>/dev/null | grep -q 'CNI-'; then
    echo 'Deleting the CNI plugins iptables rules'
    iptables-save | grep -v 'CNI-' | iptables-restore
fi
EOF
    } | $SUDO tee "${KILLALL_SKIFF_SH}" >/dev/null
    $SUDO chmod 755 "${KILLALL_SKIFF_SH}"
}

create_uninstall() {
    info "Creating uninstall script ${UNINSTALL_SKIFF_SH}"
    $SUDO tee "${UNINSTALL_SKIFF_SH}" >/dev/null <<EOF
#!/bin/sh
# Removes ${SYSTEM_NAME}: stops everything (skiff-killall.sh), then removes the service, and with the
# last Skiff service also the executable, its links and scripts, the data and the configuration.
[ "\$(id -u)" -eq 0 ] || exec sudo --preserve-env=SKIFF_DATA_DIR "\$0" "\$@"
set -e
SKIFF_DATA_DIR=\${SKIFF_DATA_DIR:-$(quote "${DATA_DIR}")}
export SKIFF_DATA_DIR
$(quote "${KILLALL_SKIFF_SH}")

if command -v systemctl >/dev/null 2>&1; then
    systemctl disable ${SYSTEM_NAME} || true
    systemctl reset-failed ${SYSTEM_NAME} || true
    systemctl daemon-reload
fi
if command -v rc-update >/dev/null 2>&1; then
    rc-update delete ${SYSTEM_NAME} default || true
fi
rm -f $(quote "${FILE_SKIFF_SERVICE}" "${FILE_SKIFF_ENV}" /etc/logrotate.d/"${SYSTEM_NAME}")
trap 'rm -f $(quote "${UNINSTALL_SKIFF_SH}")' EXIT

if (ls $(quote "${SYSTEMD_DIR}")/skiff*.service || ls /etc/init.d/skiff*) >/dev/null 2>&1; then
    echo 'Other Skiff services are installed: Skiff itself stays'
    exit
fi
for cmd in kubectl crictl ctr; do
    if [ "\$(readlink $(quote "${BIN_DIR}")/\$cmd)" = skiff ]; then
        rm -f $(quote "${BIN_DIR}")/\$cmd
    fi
done
if grep -q " \${SKIFF_DATA_DIR}/" /proc/self/mounts; then
    echo "Something is still mounted under \${SKIFF_DATA_DIR}: it stays" >&2
    exit 1
fi
if [ "\$(cd "\${SKIFF_DATA_DIR}" 2>/dev/null && pwd -P)" = /var/lib/skiff ]; then
    rm -rf /run/skiff
fi
rm -rf "\${SKIFF_DATA_DIR}" $(quote "${CONFIG_DIR}") /var/log/${SYSTEM_NAME}.log
rm -f $(quote "${BIN_DIR}/skiff" "${KILLALL_SKIFF_SH}")
EOF
    $SUDO chmod 755 "${UNINSTALL_SKIFF_SH}"
}

# --- the service's environment: SKIFF_*, CONTAINERD_* and proxy variables, quoted by export -p ---
create_env_file() {
    info "Creating environment file ${FILE_SKIFF_ENV}"
    $SUDO touch "${FILE_SKIFF_ENV}"
    $SUDO chmod 0600 "${FILE_SKIFF_ENV}"
    export -p | sed -n 's/^export //p; s/^declare -x //p' |
        grep -E '^(SKIFF_|CONTAINERD_)|^(NO|HTTP|HTTPS)_PROXY=' -i | grep -v '^SKIFF_DOWNLOAD_URL=' |
        $SUDO tee "${FILE_SKIFF_ENV}" >/dev/null
}

create_systemd_service_file() {
    info "systemd: Creating service file ${FILE_SKIFF_SERVICE}"
    $SUDO tee "${FILE_SKIFF_SERVICE}" >/dev/null <<EOF
[Unit]
Description=Skiff, lightweight Kubernetes
Documentation=${DEFAULT_DOWNLOAD_URL%/releases}
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
# skiff tells systemd it is ready (the API answers) through systemd-notify, a process of its own
Type=notify
NotifyAccess=all
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-${FILE_SKIFF_ENV}
# containers outlive a restart of skiff, which takes them over again
KillMode=process
Delegate=yes
User=root
# Limits other than infinity cost the kernel accounting; cgroups limit the containers.
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=${BIN_DIR}/skiff ${CMD_SKIFF_EXEC}
EOF
}

create_openrc_service_file() {
    log_file=/var/log/${SYSTEM_NAME}.log
    info "openrc: Creating service file ${FILE_SKIFF_SERVICE}"
    $SUDO tee "${FILE_SKIFF_SERVICE}" >/dev/null <<EOF
#!/sbin/openrc-run

depend() {
    after network-online
    want cgroups
}

supervisor=supervise-daemon
name=${SYSTEM_NAME}
command=$(quote "${BIN_DIR}/skiff")
command_args="$(echo "${CMD_SKIFF_EXEC}" | sed 's/"/\\"/g')"
output_log=${log_file}
error_log=${log_file}
pidfile=/var/run/${SYSTEM_NAME}.pid
respawn_delay=5
respawn_max=0

set -o allexport
if [ -f /etc/environment ]; then . /etc/environment; fi
if [ -f $(quote "${FILE_SKIFF_ENV}") ]; then . $(quote "${FILE_SKIFF_ENV}"); fi
set +o allexport
EOF
    $SUDO chmod 0755 "${FILE_SKIFF_SERVICE}"
    $SUDO tee "/etc/logrotate.d/${SYSTEM_NAME}" >/dev/null <<EOF
${log_file} {
	missingok
	notifempty
	copytruncate
}
EOF
}

# --- pods need the memory cgroup, which Raspberry Pi OS leaves off ---
check_memory_cgroup() {
    if ! grep -qs memory /sys/fs/cgroup/cgroup.controllers && [ "$(awk '$1 == "memory" { print $4 }' /proc/cgroups 2>/dev/null)" != 1 ]; then
        cmdline=/boot/firmware/cmdline.txt
        [ -f "${cmdline}" ] || cmdline=/boot/cmdline.txt
        warn "The memory cgroup is disabled: add 'cgroup_memory=1 cgroup_enable=memory' to the kernel command line (${cmdline} on a Raspberry Pi) and reboot"
    fi
}

service_enable_and_start() {
    [ "${INSTALL_SKIFF_SKIP_ENABLE}" = true ] && return
    if [ "${HAS_SYSTEMD}" = true ]; then
        info "systemd: Enabling ${SYSTEM_NAME} unit"
        $SUDO systemctl enable "${FILE_SKIFF_SERVICE}" >/dev/null
        $SUDO systemctl daemon-reload >/dev/null
    else
        info "openrc: Enabling ${SYSTEM_NAME} service for default runlevel"
        $SUDO rc-update add "${SYSTEM_NAME}" default >/dev/null
    fi
    [ "${INSTALL_SKIFF_SKIP_START}" = true ] && return
    if [ "${PRE_INSTALL_HASHES}" = "$(installed_hashes)" ] && [ "${INSTALL_SKIFF_FORCE_RESTART}" != true ]; then
        info 'No change detected so skipping service start'
        return
    fi
    info "Starting ${SYSTEM_NAME}"
    if [ "${HAS_SYSTEMD}" = true ]; then
        $SUDO systemctl restart "${SYSTEM_NAME}"
    else
        $SUDO "${FILE_SKIFF_SERVICE}" restart
    fi
}

# --- the service's command: INSTALL_SKIFF_EXEC, then the script's arguments ---
# shellcheck disable=SC2086 # INSTALL_SKIFF_EXEC is split into words (globbing is off)
set -- ${INSTALL_SKIFF_EXEC} "$@"
{
    verify_system
    setup_env "$@"
    download_and_verify
    create_symlinks
    install_deps
    create_killall
    create_uninstall
    create_env_file
    if [ "${HAS_SYSTEMD}" = true ]; then create_systemd_service_file; else create_openrc_service_file; fi
    check_memory_cgroup
    service_enable_and_start
}
