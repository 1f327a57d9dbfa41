#!/usr/bin/env bash
# test_fault.sh BIN_DIR TOOLS_DIR FAULT - one fault on a simulated cluster
# of 3 hosts (kc1 runs kurc-run and mpirun, and rank 0), during training
# with settings.comm_timeout: 8, then the same command again:
#   kill      SIGKILL of every process of host kc2 (its rank and its orted)
#   stop      SIGSTOP of the rank on kc2
#   cut       kc2's link goes down
#   cut_head  kc1's link goes down
#   blip      kc2's link goes down for 3 s, less than the timeout
#   usr1      SIGUSR1 to kurc-run
#   term      SIGTERM to kurc-run
# Checks: the job ends (kill: mpirun's status and its message naming the
# lost host) within comm_timeout + 15 s of the fault, with the status and
# the message that name the cause (blip: an epoch ends after the link is
# back within that time, and training ends normally, status 0); no
# process is left on any host; the rerun resumes from the checkpoint and
# ends bitwise where an uninterrupted run ends.
# KURC_CLUSTER_TRIES (default 1) repeats it.
# shellcheck source=/dev/null
. "$(dirname "$0")/../mpi/lib.sh"
# shellcheck source=/dev/null
. "$(dirname "$0")/cluster.sh"

fault=${3:?usage: test_fault.sh BIN_DIR TOOLS_DIR FAULT}
tries=${KURC_CLUSTER_TRIES:-1}
timeout=8 epochs=40

# fault_apply: does $fault to the running job.
fault_apply() {
  case $fault in
    kill)
      # shellcheck disable=SC2046  # one pid per word
      kill -KILL $(host_pids 2)
      ;;
    stop) kill -STOP "$(host_rank 2)" ;;
    cut) cut 2 ;;
    cut_head) cut 1 ;;
    blip) cut 2 && sleep 3 && heal 2 ;;
    usr1) kill -USR1 "$PID" ;;
    term) kill -TERM "$PID" ;;
    *)
      fail "unknown fault '$fault'"
      finish
      ;;
  esac
}

# fault_expect: the status and the message (ERE, in the output) of $fault.
fault_expect() {
  case $fault in
    kill) want_rc=any want_msg="Remote daemon: .* on node kc2|process rank 1 with PID [0-9]+ on node kc2" ;;
    stop) want_rc=4 want_msg="rank 1 \(host kc2\) has made no progress for [0-9]+ s" ;;
    cut) want_rc=4 want_msg="rank 1 \(host kc2\) has made no progress for [0-9]+ s" ;;
    cut_head) want_rc=4 want_msg="rank 0 \(host kc1\) has heard from no other rank for [0-9]+ s" ;;
    blip) want_rc=0 want_msg="^Completed $epochs epochs" ;;
    usr1 | term) want_rc=3 want_msg="stopped by signal" ;;
  esac
}

cluster_up 3
cluster_kurfile "$WORK/ref" $epochs
run 0 "$WORK/ref" || fail "uninterrupted: $(why "$WORK/ref/out")"
fault_expect
for ((try = 1; try <= tries; try++)); do
  dir=$WORK/try$try
  cluster_kurfile "$dir" $epochs "comm_timeout: $timeout"
  cluster_start 3 "$dir"
  if ! wait_for "$dir/out" "^Epoch 3/" 60; then
    fail "try $try: training did not start: $(why "$dir/out")"
    kill -KILL "$PID"
    continue
  fi
  t0=$(date +%s.%N)
  fault_apply
  if [ "$fault" = blip ]; then
    # the job goes on: an epoch ends after the link is back (the time
    # checked), then training ends, however slow a loaded machine makes it
    last=$(grep -oE '^Epoch [0-9]+' "$dir/out" | tail -1 | grep -oE '[0-9]+$')
    wait_for "$dir/out" "^Epoch $((last + 1))/" $((timeout + 15))
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    reap "$PID" 600
  else
    reap "$PID" $((timeout + 30))
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  fi
  heal 1
  heal 2
  msg=$(grep -m1 -oE -- "$want_msg" "$dir/out")
  if { [ "$RC" = "$want_rc" ] || { [ "$want_rc" = any ] && [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; }; } &&
    [ -n "$msg" ] &&
    awk -v t="$took" -v l=$((timeout + 15)) 'BEGIN { exit !(t <= l) }'; then
    ok "try $try: $fault: status $RC after $took s: $msg"
  else
    fail "try $try: $fault: status $RC (want $want_rc) after $took s (bound $((timeout + 15)) s), message '$msg'" \
      "$(tail -12 "$dir/out")"
  fi
  cluster_clean 10 || fail "try $try: processes left on the hosts 10 s after the end: $LEFT"
  [ "$fault" = blip ] || cluster_run 3 "$dir"
  if [ "$RC" -ne 0 ]; then
    fail "try $try: the rerun: status $RC: $(why "$dir/out")"
  elif [ "$fault" != blip ] && ! grep -q "resuming from checkpoint" "$dir/out"; then
    fail "try $try: the rerun did not resume from the checkpoint: $(why "$dir/out")"
  elif out=$(same "$WORK/ref/last.w" "$dir/last.w"); then
    ok "try $try: ends bitwise where an uninterrupted run ends ($out)"
  else
    fail "try $try: the weights differ from an uninterrupted run: $out"
  fi
done
finish
