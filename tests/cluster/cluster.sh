# cluster.sh - a simulated cluster of 2 to 4 hosts inside this machine, for
# the cluster tests (sourced by tests/cluster/test_*.sh after
# tests/mpi/lib.sh).
#
# Each host is a network namespace (kct<tag>h1 ...) whose eth0 is one end of
# a veth pair; the other ends are ports of a bridge in a namespace of its
# own (kct<tag>sw), so the subnet 10.77.0.0/24 exists only between these
# namespaces.  Host i is kc<i> at 10.77.0.<i>; the names are in a private
# hosts file (/etc/netns/<namespace>/hosts, which `ip netns exec` mounts
# over /etc/hosts for that namespace's processes only), and every process
# started on a host gets its own UTS namespace with that hostname, so Open
# MPI sees distinct nodes.  mpirun runs on kc1 and reaches the other hosts
# with an rsh agent (cluster_agent.sh) that enters their namespace; MPI
# traffic is TCP on eth0 only.  With CLUSTER_LINK=tap, eth0 is instead a
# TAP device that nothing joins until switch_start starts the user-space
# switch (tests/cluster/cluster_switch.c, with a delay and a loss rate).
#
#   cluster_up N           creates hosts kc1..kcN (skips the test, exit 77,
#                          without root, iproute2 or unshare)
#   switch_start MS PCT    (CLUSTER_LINK=tap) joins the hosts through the
#                          switch: MS ms one way, PCT % of frames lost
#   on_host I CMD...       runs CMD on host kc<I> (host_exec: execs it)
#   host_pids I            the processes of host kc<I>
#   cut I / heal I         pulls / puts back the cable of host kc<I> (its
#                          switch port goes down: no carrier on its eth0)
#   cluster_mpirun_args N  the mpirun arguments for one rank on each of N hosts
#
# cluster_down (run by the EXIT trap cluster_up installs, so also when a
# check fails or the script is killed by ctest's TIMEOUT with SIGTERM) kills
# every process left in the namespaces, stops the switch and removes the
# namespaces, the veths or TAP devices and the private hosts files.
# shellcheck shell=bash

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CLUSTER_TAG=${CLUSTER_TAG:-$$}
CLUSTER_HOSTS=0
CLUSTER_ROOT=$(cd "$CLUSTER_DIR/../.." && pwd)

# cluster_ns I: the namespace of host I (I = sw: the switch's).
cluster_ns() {
  if [ "$1" = sw ]; then echo "kct${CLUSTER_TAG}sw"; else echo "kct${CLUSTER_TAG}h$1"; fi
}

cluster_need() {
  [ "$(id -u)" -eq 0 ] || skip "the cluster tests need root (network namespaces)"
  command -v ip >/dev/null 2>&1 || skip "the cluster tests need iproute2 (ip)"
  command -v unshare >/dev/null 2>&1 || skip "the cluster tests need unshare (util-linux)"
  command -v mpirun >/dev/null 2>&1 || skip "the cluster tests need Open MPI's mpirun"
  ip netns add "kct${CLUSTER_TAG}probe" 2>/dev/null ||
    skip "cannot create network namespaces here (ip netns add failed)"
  ip netns del "kct${CLUSTER_TAG}probe"
}

cluster_up() {
  local n=$1 i sw ns
  cluster_need
  trap 'cluster_down' EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  sw=$(cluster_ns sw)
  ip netns add "$sw" || fail "cluster: ip netns add $sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for ((i = 1; i <= n; i++)); do
    ns=$(cluster_ns "$i")
    ip netns add "$ns" || fail "cluster: ip netns add $ns"
    CLUSTER_HOSTS=$i
    mkdir -p "/etc/netns/$ns"
    {
      echo "127.0.0.1 localhost"
      for ((j = 1; j <= n; j++)); do echo "10.77.0.$j kc$j"; done
    } >"/etc/netns/$ns/hosts"
    : >"/etc/netns/$ns/resolv.conf"
    if [ "${CLUSTER_LINK:-veth}" = tap ]; then
      ip -n "$ns" tuntap add dev eth0 mode tap || fail "cluster: no TAP device in $ns"
      ip -n "$ns" link set eth0 mtu 9000
    else
      cluster_veth "$i"
    fi
    ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
}

# cluster_veth I: host I's eth0 is a veth whose peer is port p<I> of the
# switch namespace's bridge.
cluster_veth() {
  local i=$1 ns sw
  ns=$(cluster_ns "$i")
  sw=$(cluster_ns sw)
  ip link add "kct${CLUSTER_TAG}a$i" type veth peer name "kct${CLUSTER_TAG}b$i"
  ip link set "kct${CLUSTER_TAG}a$i" netns "$ns"
  ip link set "kct${CLUSTER_TAG}b$i" netns "$sw"
  ip -n "$ns" link set "kct${CLUSTER_TAG}a$i" name eth0
  ip -n "$sw" link set "kct${CLUSTER_TAG}b$i" name "p$i"
  ip -n "$sw" link set "p$i" master br0 up
}

# switch_start MS PCT: (re)starts cluster_switch (from $TOOLS) between the
# hosts' TAP devices, then waits until every eth0 has its carrier.
switch_start() {
  local i ns names=()
  switch_stop
  for ((i = 1; i <= CLUSTER_HOSTS; i++)); do names+=("$(cluster_ns "$i")"); done
  "$TOOLS/cluster_switch" -d "$1" -l "$2" "${names[@]}" &
  SWITCH_PID=$!
  for ns in "${names[@]}"; do
    for _ in $(seq 50); do
      ip -n "$ns" -o link show eth0 | grep -q LOWER_UP && break
      sleep 0.1
    done
  done
}

# switch_stop: stops the switch, if one runs (it prints its counts).
switch_stop() {
  [ -n "${SWITCH_PID:-}" ] || return 0
  kill -TERM "$SWITCH_PID" 2>/dev/null
  wait "$SWITCH_PID" 2>/dev/null
  SWITCH_PID=""
}

# host_pids I: the processes in host I's namespace.
host_pids() {
  ip netns pids "$(cluster_ns "$1")" 2>/dev/null
}

cluster_down() {
  local i ns pids
  switch_stop
  for ((i = 1; i <= CLUSTER_HOSTS; i++)); do
    ns=$(cluster_ns "$i")
    for _ in 1 2 3 4 5; do
      pids=$(host_pids "$i")
      [ -n "$pids" ] || break
      # shellcheck disable=SC2086  # one pid per word
      kill -KILL $pids 2>/dev/null
      sleep 0.2
    done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  ip netns del "$(cluster_ns sw)" 2>/dev/null
  CLUSTER_HOSTS=0
  [ -z "${WORK:-}" ] || [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

# host_exec I CMD...: this shell becomes CMD on host kc<I> (its namespace,
# its hostname; the process keeps its pid); on_host I CMD... runs it.
host_exec() {
  local i=$1
  shift
  # shellcheck disable=SC2016  # expanded by the inner shell
  exec ip netns exec "$(cluster_ns "$i")" unshare --uts /bin/sh -c 'hostname "$0" && exec "$@"' "kc$i" "$@"
}
on_host() { (host_exec "$@"); }

cut() { ip -n "$(cluster_ns sw)" link set "p$1" down; }
heal() { ip -n "$(cluster_ns sw)" link set "p$1" up; }

# cluster_mpirun_args N: one rank on each of kc1..kcN over TCP on eth0,
# launched through the agent.
cluster_mpirun_args() {
  local n=$1 hosts="" i
  for ((i = 1; i <= n; i++)); do hosts+="${hosts:+,}kc$i"; done
  echo "--host $hosts --mca plm_rsh_agent $CLUSTER_DIR/cluster_agent.sh" \
    "--mca plm_rsh_no_tree_spawn 1 --mca btl tcp,self --mca btl_tcp_if_include eth0" \
    "--mca oob_tcp_if_include eth0 --mca routed direct"
}

# --- training on the cluster ---------------------------------------------------

# cluster_kurfile DIR EPOCHS [settings lines...]: tests/mpi/lib.sh's small
# classifier in deterministic mode (bitwise the same on any number of
# ranks), EPOCHS epochs in all (a rerun trains what remains), a checkpoint
# every 5 batches.
cluster_kurfile() {
  local dir=$1 epochs=$2
  shift 2
  EPOCHS="{number: $epochs, mode: total}" CHECKPOINT="{path: ck.kurc, batches: 5}" \
    kurfile "$dir" 24 mlp "deterministic: yes" "deterministic_chunk: 4" "$@"
}

# cluster_start N DIR [KURC-FLAGS...]: kurc-run trains DIR/k.yml with one
# rank on each of kc1..kcN, started on kc1, in the background ($PID:
# kurc-run's; output in DIR/out, appended).
cluster_start() {
  local n=$1 dir=$2
  shift 2
  # shellcheck disable=SC2046  # the mpirun arguments are words
  (cd "$dir" && host_exec 1 \
    "$CLUSTER_ROOT/launch/kurc-run" -n "$n" -N 1 -t 1 -b "$BIN" k.yml "$@" -- \
    $(cluster_mpirun_args "$n")) >>"$dir/out" 2>&1 &
  PID=$!
}

# cluster_run N DIR [SECONDS=120]: cluster_start, then waits for the end
# (status in $RC, time in $TOOK).
cluster_run() {
  cluster_start "$1" "$2"
  reap "$PID" "${3:-120}"
}

# host_rank I: the pid of the kurc-train rank on host kc<I> (empty if none).
host_rank() {
  local p
  for p in $(host_pids "$1"); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = kurc-train ]; then
      echo "$p"
      return
    fi
  done
}

# cluster_clean SECONDS: no process is left on any host within SECONDS (0),
# else 1 with the survivors in $LEFT.
cluster_clean() {
  local i t
  for ((t = 0; t < 10 * $1; t++)); do
    LEFT=""
    for ((i = 1; i <= CLUSTER_HOSTS; i++)); do
      for p in $(host_pids "$i"); do LEFT+="kc$i:$(cat "/proc/$p/comm" 2>/dev/null)($p) "; done
    done
    [ -n "$LEFT" ] || return 0
    sleep 0.1
  done
  return 1
}
