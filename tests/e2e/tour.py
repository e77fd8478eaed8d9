"""The README's tour as data: its marked shell blocks and expected output, the comparison of
printed lines, and one persistent bash that runs the blocks in order (as a user's shell would).

Markers are HTML comments, invisible in rendered Markdown, each before a fenced block:

- `<!-- tour -->` before a ```sh block: commands of the tour, expected to exit 0;
  `<!-- tour: exit N -->` when the block's last command is expected to exit N;
- `<!-- tour: output -->` before a ```text block: what the previous command block prints
  (stdout and stderr as a terminal shows them);
- `<!-- tour: output of the run command -->`: what the README's run command prints;
- `<!-- drift: output -->`: the plan after the drift the tour describes (made through the SDK).

An expected line `...` stands for any number of lines (none included). Both sides are
normalised with the placeholders of PLACEHOLDERS before they are compared, and the tour's
actual output first gets the test's own ports written back as the README's (PortMap).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TOUR_HEADING = "## A guided tour"
MARKER = re.compile(r"^<!-- (?P<kind>tour|drift|run-command)(?::\s*(?P<what>.*?))?\s*-->$")
ELLIPSIS = "..."

# What varies from run to run, replaced by a placeholder on both sides of a comparison.
PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bafter \d+(?:\.\d+)?s\b"), "after <duration>"),       # operation durations
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "<time>"),                        # log timestamps
    (re.compile(r"\b(lb|lbl|loc)-[0-9a-z]{8}\b"), r"\1-<id>"),           # cloud IDs
    (re.compile(r"\bpid \d+\b"), "pid <pid>"),                            # process IDs
    (re.compile(r"\bsha256 [0-9a-f]{16}…"), "sha256 <fingerprint>…"),     # certificates
    (re.compile(r"\bfrom 127\.0\.0\.1:\d+\b"), "from 127.0.0.1:<port>"),  # curl's own port
    (re.compile(r"\bOpenSSL/\d+\.\d+\.\d+[a-z]*"), "OpenSSL/<version>"),  # curl's library
)


def normalise(line: str) -> str:
    for pattern, placeholder in PLACEHOLDERS:
        line = pattern.sub(placeholder, line)
    return line.rstrip()


def mismatch(expected: list[str], actual: list[str]) -> str | None:
    """None when the actual lines match the expected ones (`...` = any lines), else where the
    match first fails, for the failure message."""
    want = [normalise(line) for line in expected]
    got = [normalise(line) for line in actual]
    best = [0]  # how far into `want` any attempt got, to name the line that failed

    def matches(i: int, j: int) -> bool:
        best[0] = max(best[0], i)
        if i == len(want):
            return j == len(got)
        if want[i] == ELLIPSIS:
            return any(matches(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and want[i] == got[j] and matches(i + 1, j + 1)

    if matches(0, 0):
        return None
    if best[0] >= len(want):
        return "the output goes on after the last expected line"
    return f"expected line {best[0] + 1} not found in order: {expected[best[0]]!r}"


@dataclass
class Block:
    """A fenced block of the README and the marker before it."""

    kind: str       # tour | drift | run-command
    what: str       # "" for commands, "output", "exit N", "output of the run command"
    lang: str
    lines: list[str]
    line_no: int    # 1-based README line of the opening fence


@dataclass
class Step:
    """Commands to run, what their last command exits with, and the lines they print."""

    commands: str
    exit_code: int
    line_no: int
    expected: list[str] | None = None


@dataclass
class Tour:
    run_command: Step
    steps: list[Step] = field(default_factory=list)
    drift: list[str] | None = None


def fenced_blocks(text: str) -> tuple[list[Block], list[int]]:
    """Every marked fenced block, and the README lines of unmarked ```sh blocks in the tour."""
    lines = text.splitlines()
    blocks: list[Block] = []
    unmarked: list[int] = []
    in_tour = False
    marker: re.Match[str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            in_tour = line.strip() == TOUR_HEADING
        found = MARKER.match(line.strip())
        if found:
            marker = found
        elif line.startswith("```"):
            lang, start = line[3:].strip(), i
            i += 1
            body: list[str] = []
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if marker is not None:
                blocks.append(Block(marker["kind"], marker["what"] or "", lang, body, start + 1))
            elif in_tour and lang == "sh":
                unmarked.append(start + 1)
            marker = None
        elif line.strip():
            marker = None  # a marker belongs to the block right after it
        i += 1
    return blocks, unmarked


def parse_tour(text: str) -> Tour:
    blocks, unmarked = fenced_blocks(text)
    assert not unmarked, f"README.md: tour shell blocks without a <!-- tour --> marker: {unmarked}"
    run_command = [b for b in blocks if b.kind == "run-command"]
    assert len(run_command) == 1, "README.md: one <!-- run-command --> block expected"
    tour = Tour(Step("\n".join(run_command[0].lines), 0, run_command[0].line_no))
    for block in blocks:
        if block.kind == "tour" and block.what == "output of the run command":
            tour.run_command.expected = block.lines
        elif block.kind == "tour" and block.what == "output":
            assert tour.steps and tour.steps[-1].expected is None, (
                f"README.md:{block.line_no}: output block without a command block before it")
            tour.steps[-1].expected = block.lines
        elif block.kind == "tour":
            exit_code = re.fullmatch(r"(?:exit (\d+))?", block.what)
            assert exit_code and block.lang == "sh", f"README.md:{block.line_no}: bad marker"
            tour.steps.append(Step("\n".join(block.lines), int(exit_code[1] or 0),
                                   block.line_no))
        elif block.kind == "drift":
            tour.drift = block.lines
    return tour


def installed_run_command(run_command: str) -> str:
    """The run command without its install steps (`python3 -m venv`, `pip install`), which the
    test's own virtual environment, linked as .venv, has done."""
    parts = [part.strip() for part in run_command.split("&&")]
    kept = [p for p in parts if not p.startswith("python3 -m venv") and "pip install" not in p]
    assert len(kept) < len(parts), f"the run command installs nothing: {run_command!r}"
    return " && ".join(kept)


@dataclass(frozen=True)
class PortMap:
    """The README's fixed ports and the test's free ones: commands get the test's, their output
    gets the README's back."""

    api: int
    offset: int

    README_OFFSET = 8000
    README_API = 9000

    def command(self, text: str) -> str:
        text = text.replace(f"--port-offset {self.README_OFFSET}",
                            f"--port {self.api} --port-offset {self.offset}")
        return text.replace(f":{443 + self.README_OFFSET}", f":{443 + self.offset}")

    def output(self, line: str) -> str:
        line = re.sub(rf"(?<=:){443 + self.offset}\b", str(443 + self.README_OFFSET), line)
        line = re.sub(rf"(?<=127\.0\.0\.1:){self.api}\b", str(self.README_API), line)
        return re.sub(rf"\b(port offset|port \+) {self.offset}\b",
                      rf"\1 {self.README_OFFSET}", line)


class Shell:
    """One bash for the whole tour: `cd`, variables and background jobs carry over from block to
    block. Each block is sourced from a file with stdin from /dev/null; its output (stdout and
    stderr together) is read up to an end marker that carries the block's exit code."""

    def __init__(self, cwd: Path, environ: Mapping[str, str], scratch: Path) -> None:
        self.scratch = scratch
        self.count = 0
        self.marker = f"__TOUR_BLOCK_END_{id(self)}__"
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=dict(environ), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def run(self, commands: str, exit_code: int, timeout: float = 180) -> tuple[int, list[str]]:
        """Runs one block (under `set -e` unless it is expected to fail): its exit code and
        printed lines. The shell ending early (a failed command) raises, with what it printed."""
        self.count += 1
        script = self.scratch / f"block-{self.count}.sh"
        script.write_text(commands + "\n")
        errexit = "set -e" if exit_code == 0 else "set +e"
        assert self.process.stdin is not None
        self.process.stdin.write(
            f"{errexit}\nsource {script} </dev/null\nprintf '%s\\n' \"{self.marker}$?\"\n")
        self.process.stdin.flush()
        printed: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no end of this block after {timeout:g} s:\n{commands}\n"
                                     "it printed:\n" + "\n".join(printed)) from None
            if line is None:
                raise AssertionError(f"the shell ended (exit {self.process.wait()}) in:\n"
                                     f"{commands}\nafter printing:\n" + "\n".join(printed))
            before, found, code = line.partition(self.marker)
            if found:
                if before:
                    printed.append(before)
                return int(code), printed
            printed.append(line)

    def close(self) -> None:
        """Ends the shell and whatever it left running (its session: background jobs too)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
