"""Runs docs/quickstart.md for one platform, exactly as written, and checks what it printed.

    python3 samples/quickstart.py PLATFORM        (kotlin, python or swift)

The guide marks its blocks in the fence's info string, after the language (renderers show only
the language):

    ```sh qs:all          run for every platform, in document order
    ```sh qs:PLATFORM     run for that platform only
    ```text qs:output     what each app prints, line for line
    ```LANG qs:excerpt=PATH   code shown in the guide: must appear verbatim in PATH

Every `sh` block must carry a `qs:` tag, so no command in the guide goes untested. The blocks
of PLATFORM are joined into one bash script (`set -euo pipefail`) and run from the root of the
checkout, as a reader would paste them; nothing is substituted. What this runner adds around
them: an EXIT trap that stops the server the guide started (`SERVE_PID`) if a block fails, and
`QS_STATE`, a file the trap writes `$WORK` to so the scratch directory is removed after a pass
(kept after a failure, and named). The checks: the run exits 0; the app's output block appears
as consecutive lines of stdout; the report names every event of the guide's plan; each excerpt
is in its file.

Environment: QS_TIMEOUT (seconds, default 1200). For swift, `samples/test.sh` puts a `swift` on
PATH that runs Swift in the chroot of bindings/swift/scripts/swift-env.sh.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

REPO = pathlib.Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "quickstart.md"
PLATFORMS = ("kotlin", "python", "swift")
FENCE = re.compile(r"^```(\S*)(.*)$")
# Terminal control sequences are not output (Maven 3.8 writes a stray colour reset on exit).
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Block:
    def __init__(self, language: str, tags: list[str], text: str, line: int):
        self.language, self.tags, self.text, self.line = language, tags, text, line

    def tag(self, prefix: str) -> str | None:
        return next((tag[len(prefix):] for tag in self.tags if tag.startswith(prefix)), None)


def blocks(path: pathlib.Path) -> list[Block]:
    found, current, body = [], None, []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = FENCE.match(line)
        if current is None and match:
            current, body = (match.group(1), match.group(2).split(), number), []
        elif current is not None and line.strip() == "```":
            found.append(Block(current[0], current[1], "\n".join(body) + "\n", current[2]))
            current = None
        elif current is not None:
            body.append(line)
    if current is not None:
        raise SystemExit(f"{path}:{current[2]}: unterminated code block")
    return found


def fail(message: str) -> None:
    print(f"[quickstart] FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in PLATFORMS:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(PLATFORMS)}}}")
    platform = sys.argv[1]
    target = os.environ.get("CARGO_TARGET_DIR")
    if target and pathlib.Path(target).resolve() != (REPO / "target").resolve():
        fail("the guide uses the checkout's target/ directory; unset CARGO_TARGET_DIR to run it")

    guide = blocks(GUIDE)
    untagged = [b.line for b in guide if b.language == "sh" and b.tag("qs:") is None]
    if untagged:
        fail(f"sh blocks without a qs: tag (untested commands) at {GUIDE}:{untagged}")
    outputs = [b for b in guide if "qs:output" in b.tags]
    if len(outputs) != 1:
        fail(f"expected one `qs:output` block in {GUIDE}, found {len(outputs)}")
    expected = outputs[0].text.splitlines()

    for block in guide:
        excerpt_path = block.tag("qs:excerpt=")
        if excerpt_path is not None and block.text not in (REPO / excerpt_path).read_text():
            fail(f"{GUIDE}:{block.line}: the excerpt is not in {excerpt_path} (update one or the other)")

    steps = [b for b in guide if b.language == "sh" and ({"qs:all", f"qs:{platform}"} & set(b.tags))]
    if not any(f"qs:{platform}" in b.tags for b in steps):
        fail(f"{GUIDE} has no `sh qs:{platform}` block")
    plan_events = sorted(json.loads(re.search(r"<<'EOF'\n(.*?)\nEOF", "".join(b.text for b in steps), re.S)
                                    .group(1))["events"])

    state = tempfile.NamedTemporaryFile(prefix="quickstart-state.", delete=False)
    state.close()
    script = [
        "set -euo pipefail",
        'trap \'if [ -n "${SERVE_PID:-}" ]; then kill "$SERVE_PID" 2>/dev/null || true; fi; '
        'printf %s "${WORK:-}" >"$QS_STATE"\' EXIT',
    ]
    for block in steps:
        script.append(f"printf '\\n[quickstart] docs/quickstart.md:{block.line}\\n' >&2")
        script.append(block.text)

    print(f"[quickstart] {platform}: {len(steps)} blocks from {GUIDE.relative_to(REPO)}", file=sys.stderr)
    process = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "QS_STATE": state.name}, start_new_session=True)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        os.killpg(process.pid, signal.SIGTERM)

    timer = threading.Timer(int(os.environ.get("QS_TIMEOUT", "1200")), stop)
    timer.start()
    printed = []
    try:
        for line in process.stdout:
            print(f"[{platform}] {line}", end="", flush=True)
            printed.append(ANSI.sub("", line.rstrip("\n")))
        status = "a timeout (QS_TIMEOUT)" if timed_out.is_set() else process.wait()
    finally:
        timer.cancel()
        work = pathlib.Path(state.name).read_text()
        os.unlink(state.name)

    if status != 0:
        fail(f"the guide's commands for {platform} exited {status}; its files are in {work or '(no $WORK)'}")
    starts = [i for i in range(len(printed)) if printed[i:i + len(expected)] == expected]
    if not starts:
        fail(f"{platform}: the app did not print the guide's output (docs/quickstart.md:{outputs[0].line}):\n"
             + "\n".join(expected) + f"\nfiles kept in {work}")
    after_app = "\n".join(printed[starts[0] + len(expected):])
    missing = [event for event in plan_events if event not in after_app]
    if missing:
        fail(f"{platform}: the report after the app does not name {missing}; files kept in {work}")
    if work and pathlib.Path(work).is_relative_to(REPO / "target"):
        shutil.rmtree(work)
    print(f"[quickstart] {platform}: the app printed the guide's output and the report names {plan_events}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
