#!/usr/bin/env bash
# cluster_agent.sh HOST COMMAND... - the rsh agent of the simulated cluster
# (tests/cluster/cluster.sh): runs COMMAND, a shell command line as ssh
# would pass it, on HOST (kc<I>) by entering the network namespace of host
# I of the cluster CLUSTER_TAG names, with a UTS namespace of its own whose
# hostname is HOST.
set -eu
host=$1
shift
case $host in
  kc[1-9]) ;;
  *)
    echo "cluster_agent: unknown host '$host'" >&2
    exit 255
    ;;
esac
ns=kct${CLUSTER_TAG:?CLUSTER_TAG is not set}h${host#kc}
# shellcheck disable=SC2016  # expanded by the inner shell
exec ip netns exec "$ns" unshare --uts /bin/sh -c 'hostname "$1" && shift && eval "$*"' agent "$host" "$@"
