#!/usr/bin/env bats
# The course as a whole: lessons/README.md lists every lesson, every lesson
# has steps to check, the diagrams are drawn from their current sources, and
# every picture a lesson links to exists. (Each lesson's own commands are
# checked by lessons/check: `tests/run lessons`.)

load helpers

LESSONS=$BATS_TEST_DIRNAME/../../lessons

@test "lessons/README.md lists every lesson folder, in order" {
  local dir name listed=()
  for dir in "$LESSONS"/[0-9][0-9]-*/; do
    name=$(basename "$dir")
    grep -q "($name/README.md)" "$LESSONS/README.md" || { echo "not listed in lessons/README.md: $name" >&2; return 1; }
  done
  # The table's numbers run 00, 01, ... without gaps or repeats.
  mapfile -t listed < <(grep -o '^| [0-9][0-9] |' "$LESSONS/README.md" | tr -d '| ')
  local i
  for i in "${!listed[@]}"; do
    assert_equal "${listed[$i]}" "$(printf '%02d' "$i")"
  done
  [ "${#listed[@]}" -ge 10 ]
}

@test "every lesson has console steps the checker will run" {
  local readme
  for readme in "$LESSONS"/[0-9][0-9]-*/README.md; do
    run python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import lessonlib
l = lessonlib.parse(sys.argv[2]); print(len(l.steps)); sys.exit(0 if l.steps else 1)' "$LESSONS" "$readme"
    [ "$status" -eq 0 ] || { echo "$readme: no console steps" >&2; return 1; }
  done
}

@test "every picture a lesson links to exists" {
  local link readme
  for readme in "$LESSONS"/README.md "$LESSONS"/[0-9][0-9]-*/README.md; do
    for link in $(grep -o '([^()]*\.svg)' "$readme" | tr -d '()'); do
      [ -f "$(dirname "$readme")/$link" ] || { echo "$readme links to a missing $link" >&2; return 1; }
    done
  done
}

@test "the committed SVGs are drawn from the current .dot sources" {
  require_cmd dot
  bk_run 0 "$LESSONS/diagrams/build" --check
  local dot
  for dot in "$LESSONS"/diagrams/*.dot; do
    assert_file_exists "${dot%.dot}.svg"
  done
}
