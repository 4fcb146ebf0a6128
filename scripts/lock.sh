#!/usr/bin/env bash
# Regenerate the locks from what `make install` put in .venv: every installed package pinned
# (pip freeze), each pin with the hashes the package index lists for it (pip-compile
# --generate-hashes; only the pins' own hashes are kept, nothing it resolves beyond them).
#   requirements.lock       what Verity runs with: its dependencies and the `pdf` extra,
#                           followed through the installed metadata (the image installs this)
#   requirements-test.lock  the rest: what the tests and checks add
# Run after changing pyproject.toml and installing the change into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/pip freeze --all --exclude-editable | grep -v -e '^pip==' -e '^verity' \
  | sed 's/+cpu$//' > "$work/pins.txt"  # torch 2.13.0+cpu: pinned as 2.13.0
.venv/bin/python - > "$work/runtime.txt" <<'PY'
# Verity's runtime closure: its requirements with the `pdf` extra, through installed metadata;
# unstructured-inference is installed without its own requirements (Makefile), so not followed.
import re
from importlib.metadata import distribution

from packaging.requirements import Requirement

def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()

seen: set[str] = {"unstructured-inference"}
followed: set[tuple[str, frozenset[str]]] = set()
todo = [("verity", {"pdf"})]
while todo:
    name, extras = todo.pop()
    if (key(name), frozenset(extras)) in followed:
        continue
    followed.add((key(name), frozenset(extras)))
    for text in distribution(name).requires or []:
        req = Requirement(text)
        wanted = req.marker is None or any(
            req.marker.evaluate({"extra": extra}) for extra in extras | {""}
        )
        if not wanted or (name == "verity" and key(req.name) == "unstructured-inference"):
            continue
        seen.add(key(req.name))
        todo.append((req.name, set(req.extras)))
print("\n".join(sorted(seen)))
PY
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install --quiet pip-tools
"$work/tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --no-header \
  -o "$work/resolved.txt" "$work/pins.txt"
python3 - "$work/pins.txt" "$work/resolved.txt" "$work/runtime.txt" <<'PY'
import re
import sys

def key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()

hashes: dict[tuple[str, str], list[str]] = {}
current = None
for line in open(sys.argv[2]).read().splitlines():
    pin = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", line)
    if pin:
        current = (key(pin[1]), pin[3].removesuffix("+cpu"))
        hashes.setdefault(current, [])
    elif current and (found := re.search(r"--hash=(sha256:[0-9a-f]+)", line)):
        hashes[current].append(found[1])
runtime = set(open(sys.argv[3]).read().split())
HEADER = {
    "requirements.lock": [
        "# What Verity runs with, pinned and hashed (scripts/lock.sh): `make install` and the",
        "# image install exactly these (pip install --require-hashes --no-deps), resolving nothing.",
        "# torch is the CPU wheel; unstructured-inference is here without its own requirements",
        "# (timm pulls torchvision, which breaks sentence-transformers).",
    ],
    "requirements-test.lock": [
        "# What the tests and checks add to requirements.lock, pinned and hashed (scripts/lock.sh).",
    ],
}
files = {name: [*lines] for name, lines in HEADER.items()}
pins = sorted(open(sys.argv[1]).read().split(), key=lambda p: p.split("==")[0].lower())
for pin in pins:
    name, _, version = pin.partition("==")
    found = hashes.get((key(name), version))
    if not found:
        sys.exit(f"no hashes for {pin}")
    target = "requirements.lock" if key(name) in runtime else "requirements-test.lock"
    files[target].append(f"{pin} \\\n" + " \\\n".join(f"    --hash={h}" for h in found))
for name, lines in files.items():
    with open(name, "w") as out:
        out.write("\n".join(lines) + "\n")
    print(f"{name}: {len(lines) - len(HEADER[name])} packages")
PY
