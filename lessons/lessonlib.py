"""Reading and running boxkit lessons.

A lesson is lessons/NN-topic/README.md. Only ```console blocks are run:

    ```console
    $ chrootify ./rootfs -- /bin/echo hello      <- a command (after "$ ")
    > ...                                        <- its continuation lines
    hello                                        <- the output it must print
    [exit 1]                                     <- its exit status, when not 0
    ```

In expected output, a line "..." stands for any number of lines, "{{*}}"
for any text within a line and "{{n}}" for a number (pids, sizes, times).
Commands run in order in one bash, so cd and variables carry on, in a fresh
scratch directory, with stdin from /dev/null and stderr merged into stdout
(what a student sees in a terminal). An HTML comment at the top,
<!-- lesson: needs=root,kvm timeout=120 -->, says what the lesson needs.

The checker (lessons/check) and the presenter (lessons/present) both use this.
"""

import os
import re
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field


@dataclass
class Step:
    command: str
    expected: list = field(default_factory=list)
    exit_code: int = 0
    line: int = 0
    prose: str = ""  # the text between the previous block and this step


@dataclass
class Lesson:
    path: str
    title: str
    steps: list
    needs: list
    timeout: int


def parse(path):
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    needs, timeout = [], 60
    m = re.search(r"<!--\s*lesson:(.*?)-->", text)
    if m:
        for word in m.group(1).split():
            key, _, value = word.partition("=")
            if key == "needs":
                needs = [n for n in value.split(",") if n]
            elif key == "timeout":
                timeout = int(value)
    title = next((l[2:].strip() for l in lines if l.startswith("# ")), os.path.basename(os.path.dirname(path)))
    steps, in_block, prose = [], False, []
    current = None
    for number, line in enumerate(lines, 1):
        if not in_block:
            if line.strip() == "```console":
                in_block = True
            else:
                prose.append(line)
            continue
        if line.strip() == "```":
            in_block, current = False, None
            continue
        if line.startswith("$ "):
            current = Step(command=line[2:], line=number, prose="\n".join(prose).strip())
            prose = []
            steps.append(current)
        elif line.startswith("> ") and current is not None and not current.expected:
            current.command += "\n" + line[2:]
        elif current is not None:
            m = re.fullmatch(r"\[exit (\d+)\]", line.strip())
            if m:
                current.exit_code = int(m.group(1))
            else:
                current.expected.append(line)
    return Lesson(path=path, title=title, steps=steps, needs=needs, timeout=timeout)


def pattern(expected):
    """The regex that the whole output of a step must match."""
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        regex = ""
        for piece in re.split(r"(\{\{\*\}\}|\{\{n\}\})", line.rstrip()):
            if piece == "{{*}}":
                regex += r"[^\n]*"
            elif piece == "{{n}}":
                regex += r"-?[0-9]+(?:\.[0-9]+)?"
            else:
                regex += re.escape(piece)
        parts.append(regex + r"[ \t]*\n")
    return re.compile("".join(parts))


def matches(expected, output):
    text = "\n".join(l.rstrip() for l in output.split("\n"))
    if text and not text.endswith("\n"):
        text += "\n"
    return pattern(expected).fullmatch(text) is not None


class Shell:
    """One bash that runs a lesson's commands in order, like a student's terminal."""

    MARK = "__boxkit_lesson_done__"

    def __init__(self, cwd, env):
        # Every process the lesson starts inherits this mark, even one that
        # leaves the session (a --detach box, a netfwd): close() finds those.
        self.mark = "%s:%d" % (cwd, os.getpid())
        env = dict(env, BOXKIT_LESSON=self.mark)
        self.proc = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True)

    def run(self, command, timeout):
        script = "{\n%s\n} </dev/null 2>&1\necho \"%s $?\"\n" % (command, self.MARK)
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()
        out, deadline = b"", time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                return out.decode(errors="replace"), None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return out.decode(errors="replace"), None
            out += chunk
            m = re.search(rb"(?:^|\n)" + self.MARK.encode() + rb" (\d+)\n$", out)
            if m:
                return out[: m.start()].decode(errors="replace") + ("\n" if m.group(0).startswith(b"\n") else ""), int(m.group(1))

    def close(self):
        self.kill()
        self.proc.wait()

    def kill(self):
        """SIGKILL the shell and all it started, without waiting for them:
        safe in a signal handler, and to call twice."""
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.kill_leftovers()

    def kill_leftovers(self):
        """SIGKILL what the lesson started in the background and left running
        (a lesson that failed halfway never reached its clean-up steps). A
        box's supervisor going takes the box along (PR_SET_PDEATHSIG)."""
        want = ("BOXKIT_LESSON=" + self.mark).encode()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    if want in f.read().split(b"\0"):
                        os.kill(int(pid), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass


def missing_needs(lesson):
    """Why this machine cannot run the lesson, or None."""
    for need in lesson.needs:
        if need == "root" and os.geteuid() != 0:
            return "needs root"
        if need.startswith("cmd:"):
            from shutil import which
            if which(need[4:]) is None:
                return "needs the command " + need[4:]
    return None
