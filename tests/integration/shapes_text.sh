#!/usr/bin/env bash
# shapes_text.sh BIN SRC WORK - `kurc build` of the text suppliers reads
# only what shapes and counts need: jsonl parses its first line and counts
# the others, csv reads every record's fields but parses no cell.  A value
# damaged on a later line passes build and stops train with an error naming
# the file and line, before any weights are written; what build can see
# cheaply (the first line, a record's number of fields) still stops build
# with train's message.  The counts are the samples train would load (two
# suppliers of different counts are refused with the same message as train).
. "$(dirname "$0")/lib.sh"

# 40 jsonl lines (x of shape (2, 3), y a scalar) and a blank one
{
  for i in $(seq 1 40); do
    echo "{\"x\": [[$i, 1, 2], [3, 4, 5]], \"y\": $((i % 2))}"
    [ "$i" -eq 6 ] && echo "   "
  done
} >good.jsonl
sed '31s/.*/{"x": [[1, 2, 3], [4, 5]], "y": 1}/' good.jsonl >ragged.jsonl
sed '36s/.*/{"x": [[1, 2, 3], [4, 5, 6]], "y": /' good.jsonl >syntax.jsonl
sed '1s/.*/{"x": [[1, 2, 3], [4, 5]], "y": 1}/' good.jsonl >first.jsonl
{
  echo "a,y"
  for i in $(seq 1 30); do echo "$i.5,$((i % 2))"; done
} >good.csv
sed '26s/.*/1.0,abc/' good.csv >cell.csv
sed '26s/.*/1.0/' good.csv >fields.csv

# kurfile FILE SUPPLIER INPUT: a dense model from INPUT to y
kurfile() {
  cat >"$1" <<EOF
train:
  data:
    - $2
  provider: {batch_size: 4}
  epochs: 1
  weights: {last: ${1%.yml}.w}
model:
  - input: $3
  - flatten:
  - dense: 1
    name: y
loss:
  - {target: y, name: mean_squared_error}
EOF
}

# build's table for a good file, as build printed it when it loaded the values
cat >want-jsonl.out <<'EOF'
container                type                 inputs                   output shape         parameters
x                        input                -                        (2, 3)                        0
..flatten.0              flatten              x                        (6,)                          0
y                        dense                ..flatten.0              (1,)                          7

outputs: y
parameters: 7 (trainable 7)
EOF
cat >want-csv.out <<'EOF'
container                type                 inputs                   output shape         parameters
a                        input                -                        (1,)                          0
..flatten.0              flatten              a                        (1,)                          0
y                        dense                ..flatten.0              (1,)                          2

outputs: y
parameters: 2 (trainable 2)
EOF

kurfile good.yml "jsonl: good.jsonl" x
kurc_run build-jsonl 0 build good.yml
check build-jsonl-table diff want-jsonl.out build-jsonl.out
kurc_run train-jsonl 0 train good.yml
check train-jsonl-weights test -e good.w

for defect in ragged syntax; do
  kurfile $defect.yml "jsonl: $defect.jsonl" x
  kurc_run build-$defect 0 build $defect.yml
  check build-$defect-table diff want-jsonl.out build-$defect.out
  kurc_run train-$defect 1 train $defect.yml
  check train-$defect-no-weights test ! -e $defect.w
done
has train-ragged-error train-ragged.err \
  "jsonl: ragged.jsonl:31: key 'x' is not a rectangular list of numbers"
has train-syntax-error train-syntax.err "jsonl: syntax.jsonl:36:1: syntax error"

# the first line gives the shapes: build checks it as train does
kurfile first.yml "jsonl: first.jsonl" x
kurc_run build-first 1 build first.yml
has build-first-error build-first.err \
  "jsonl: first.jsonl:1: key 'x' is not a rectangular list of numbers"

kurfile csv.yml "csv: {path: good.csv}" a
kurc_run build-csv 0 build csv.yml
check build-csv-table diff want-csv.out build-csv.out
kurc_run train-csv 0 train csv.yml
check train-csv-weights test -e csv.w

kurfile cell.yml "csv: {path: cell.csv}" a
kurc_run build-cell 0 build cell.yml
check build-cell-table diff want-csv.out build-cell.out
kurc_run train-cell 1 train cell.yml
has train-cell-error train-cell.err "csv: cell.csv:26: column 2 ('y'): 'abc' is not a number"
check train-cell-no-weights test ! -e cell.w

# a record's fields are counted by build too
kurfile fields.yml "csv: {path: fields.csv}" a
kurc_run build-fields 1 build fields.yml
has build-fields-error build-fields.err "csv: fields.csv:26: expected 2 fields, found 1"

# counts: 40 jsonl lines (a blank one skipped) against 30 csv records
cat >mix.yml <<'EOF'
train:
  data:
    - jsonl: good.jsonl
    - csv: {path: good.csv}
model:
  - input: x
  - flatten:
  - dense: 1
    name: y
EOF
kurc_run build-mix 1 build mix.yml
has build-mix-counts build-mix.err \
  "the data sources have different numbers of samples: x (good.jsonl): 40, y (good.jsonl + good.csv): 70, a (good.csv): 30"
finish
