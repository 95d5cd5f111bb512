#!/usr/bin/env bats
# make install / make uninstall put binaries, man pages and completion in
# place under DESTDIR, and take them away again.

load helpers

setup() {
  cd "$BATS_TEST_DIRNAME/../.."
  export BUILD=${BUILD:-build}
  [ -x "$BUILD/bin/chrootify" ] || skip "build first (make)"
}

@test "make install DESTDIR=... installs binaries, man pages and completion; uninstall removes them" {
  dest=$BATS_TEST_TMPDIR/dest
  bk_run 0 make --no-print-directory BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/usr
  assert_file_executable "$dest/usr/bin/chrootify"
  assert_file_executable "$dest/usr/bin/boxrun"
  assert_file_exists "$dest/usr/share/man/man1/chrootify.1"
  assert_file_exists "$dest/usr/share/bash-completion/completions/chrootify"
  bk_run 0 "$dest/usr/bin/chrootify" --version
  bk_run 0 man -l "$dest/usr/share/man/man1/chrootify.1"
  assert_output --partial "chrootify - run a command with a different root directory"
  bk_run 0 make --no-print-directory BUILD="$BUILD" uninstall DESTDIR="$dest" PREFIX=/usr
  assert_file_not_exists "$dest/usr/bin/chrootify"
  assert_file_not_exists "$dest/usr/bin/boxrun"
  assert_file_not_exists "$dest/usr/share/man/man1/chrootify.1"
  assert_file_not_exists "$dest/usr/share/bash-completion/completions/chrootify"
}

@test "every tool has a man page and answers --help with its lesson" {
  for bin in "$BUILD"/bin/*; do
    tool=$(basename "$bin")
    case $tool in unit-*) continue ;; esac
    assert_file_exists "man/$tool.1"
    bk_run 0 "$bin" --help
    assert_output --partial "Lesson: lessons/"
  done
}

@test "bash completion offers a tool's options from its --help" {
  run bash -c "source completions/boxkit.bash; PATH=$BUILD/bin:\$PATH; COMP_WORDS=(chrootify --pi); COMP_CWORD=1; _boxkit; echo \${COMPREPLY[@]}"
  assert_output "--pivot"
}
