"""`verity prompts [--lock] [--json]`: the deployment's prompts, their versions and lock state.

Changing a prompt's text means raising its version and recording it (`--lock`), so that no two
texts ever share one version in the audit records.
"""

from __future__ import annotations

import argparse
import json

from answer.prompts import PROMPTS_DIR, load_required, lock_problems, write_lock
from core.settings import Settings


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `verity prompts`."""
    parser = commands.add_parser("prompts", help="list the prompts; --lock records new versions")
    parser.add_argument("--lock", action="store_true", help="record every prompt's version")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=cmd_prompts)


def cmd_prompts(args: argparse.Namespace, settings: Settings) -> int:
    """List the prompts (exit 1 while one is not locked); `--lock` records them first."""
    folder = settings.prompts_dir or PROMPTS_DIR
    prompts = load_required(folder)
    if args.lock:
        write_lock(prompts, folder)  # refuses a text changed under a locked version
    problems = lock_problems(prompts, folder)
    rows = [{"id": p.id, "version": p.version, "sha": p.sha} for p in prompts.values()]
    if args.json:
        print(json.dumps({"folder": str(folder), "prompts": rows, "problems": problems}))
    else:
        print(f"prompts in {folder}")
        for row in rows:
            print(f"  {row['id']:10s} {row['version']:8s} {row['sha'][:12]}")
        for problem in problems:
            print(f"  not locked: {problem}")
    return 1 if problems else 0
