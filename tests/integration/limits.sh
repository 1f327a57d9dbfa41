#!/usr/bin/env bash
# limits.sh BIN SRC WORK - small inputs that ask for huge sizes are refused
# at once, with a message that says what they need and what there is, and
# nothing is written (issue 14): a layer whose size overflows, a model that
# cannot fit in the memory available (with its optimizer's state), a URL
# that names a directory, a device or more than the disk holds; and
# temporary files that a run killed while saving or downloading left behind
# are removed at the next start.
. "$(dirname "$0")/lib.sh"

echo '{"x": [1, 2, 3, 4, 5, 6, 7, 8], "y": [1]}' >d.jsonl
# wide KURFILE SIZE: a dense layer of SIZE units on d.jsonl
wide() {
  printf '%s\n' "model:" "  - input: x" "  - dense: $2" "    name: y" "loss:" "  - target: y" \
    "    name: mean_squared_error" "train:" "  data:" "    - jsonl: d.jsonl" "  epochs: 1" \
    "  weights: {last: last.w}" >"$1"
}

# --- class 6: shape products that overflow, models larger than memory -----------
wide overflow.yml 9223372036854775807
kurc_run overflow 2 train overflow.yml
has "overflow: the layer and shape are named" overflow.err \
  "y (dense): its parameter 'kernel' of shape (8, 9223372036854775807) has too many elements"
wide huge.yml 100000000000
t0=$(date +%s)
kurc_run huge 2 train huge.yml
has "huge: need and have are said" huge.err \
  "not enough memory for the model's parameters, gradients and optimizer state: 1.34e+04 GiB needed"
[ $(($(date +%s) - t0)) -lt 20 ] && ok "huge: refused at once" || fail "huge: took $(($(date +%s) - t0)) s"
[ ! -e last.w ] && ok "nothing written" || fail "weights were written"

# --- class 6: the optimizer's state is counted -------------------------------
# Under RLIMIT_AS of 8 GiB where kurc starts under one (not with
# AddressSanitizer, whose shadow memory needs more), else under what the
# machine has: a model whose parameters and gradients take 0.6 of the memory
# available fits, but not with Adam's two more copies; it is refused before
# anything is allocated.
printf '#!/bin/sh\nulimit -v 8388608 && exec "%s" "$@"\n' "$KURC" >limited.sh
chmod +x limited.sh
./limited.sh --version >/dev/null 2>&1 && KURC=$PWD/limited.sh
kurc_run available 2 train huge.yml
avail=$(sed -n 's/.* GiB needed, \([0-9.e+]*\) GiB available.*/\1/p' available.err)
wide adam.yml "$(awk -v a="$avail" 'BEGIN { printf "%d", a * 1073741824 * 0.6 / 72 }')"
kurc_run adam 2 train adam.yml
has "adam: optimizer state counted" adam.err \
  "not enough memory for the model's parameters, gradients and optimizer state"
need=$(sed -n 's/.*state: \([0-9.e+]*\) GiB needed.*/\1/p' adam.err)
awk -v n="$need" -v a="$avail" 'BEGIN { exit !(n > 1.15 * a && n < 1.25 * a) }' &&
  ok "adam: 4 copies of the parameters needed ($need GiB of $avail)" ||
  fail "adam: $need GiB needed of $avail"
[ ! -e last.w ] && ok "adam: nothing written" || fail "adam: weights were written"

# --- class 10: downloads: directories and devices, sizes, what killed ones leave -
# fetch KURFILE URL: an hdf5 supplier that downloads URL into dl/
fetch() {
  wide "$1" 1
  sed -i "s|    - jsonl: d.jsonl|    - hdf5: {url: \"$2\", path: dl}|" "$1"
}
mkdir dl
fetch dir.yml "file://$PWD"
kurc_run url-dir 2 train dir.yml
has "url-dir: named" url-dir.err "dir.yml:10:19: cannot download file://$PWD: $PWD is a directory"
fetch zero.yml "file:///dev/zero"
kurc_run url-zero 2 train zero.yml
has "url-zero: named" url-zero.err "cannot download file:///dev/zero: /dev/zero is not a regular file"
# a sparse file larger than the disk's free space (ulimit -f: should it be
# copied after all, it stops at 100 MB)
truncate -s 15T sparse.bin 2>/dev/null || truncate -s 8T sparse.bin
fetch sparse.yml "file://$PWD/sparse.bin"
printf '#!/bin/sh\nulimit -f 102400 && exec "%s" "$@"\n' "$KURC" >capped.sh
chmod +x capped.sh
KURC=$PWD/capped.sh kurc_run url-sparse 1 train sparse.yml
has "url-sparse: refused by its size" url-sparse.err \
  "cannot download file://$PWD/sparse.bin: it is larger than the free disk space ("
rm -f sparse.bin
[ -z "$(ls -A dl)" ] && ok "downloads refused: nothing written" || fail "dl holds $(ls -A dl)"
# the temporary file of a download killed on this host is removed by the next
dead=$(sh -c 'echo $$')
echo partial >"dl/.small.h5.kurc-$(hostname)-$dead.part"
echo 'not hdf5' >small.h5
fetch small.yml "file://$PWD/small.h5"
kurc_run url-leftover 1 train small.yml
has "url-leftover: named" url-leftover.err \
  "removed dl/.small.h5.kurc-$(hostname)-$dead.part, left by a download of dl/small.h5 that was stopped"
[ "$(ls -A dl)" = small.h5 ] && ok "url-leftover: removed, downloaded" || fail "dl holds $(ls -A dl)"

# --- class 10: PATH.tmp left by a run killed while saving ----------------------
wide small.yml 1
sed -i 's/  weights: {last: last.w}/  weights: {last: last.w}\n  checkpoint: ck.h5/' small.yml
echo partial >ck.h5.tmp
echo partial >last.w.tmp
kurc_run leftovers 0 train small.yml
has "leftovers: named" leftovers.err "removed ck.h5.tmp, left by a run stopped while saving ck.h5"
[ ! -e ck.h5.tmp ] && [ ! -e last.w.tmp ] && [ -s ck.h5 ] && ok "leftovers: removed, saves done" ||
  fail "leftovers: $(ls)"
finish
