"""The rollover gate on the sample corpus: a deliberately worse model is refused, another
runtime of the same model is judged.

    PYTHONPATH=. python bench/rollover_gate.py [--questions ../shared/eval/agent_sessions/dev.jsonl]

Ingests `corpora/django` into a temporary data folder with the default embedder, then runs
`verity reindex --rebuild --model M --gate QUESTIONS --json` for MiniLM reading only three
tokens (torch; the test suite's worse model) and for MiniLM in full-precision ONNX. Prints each
gate report (nDCG@10 hybrid and dense, live and rebuilt), the exit status and the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.models import truncated_model

QUESTIONS = Path(__file__).parents[1].parent / "shared" / "eval" / "agent_sessions" / "dev.jsonl"
CORPUS = Path(__file__).parents[1] / "corpora" / "django"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {**os.environ, "VERITY_DATA_DIR": str(root / "data")}
        verity = [sys.executable, "-m", "verity"]
        subprocess.run(
            [*verity, "ingest", str(CORPUS), "--source", "django"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        worse = str(truncated_model(root / "minilm-3-tokens"))
        runs = []
        for model in (worse, "sentence-transformers/all-MiniLM-L6-v2#onnx"):
            started = time.perf_counter()
            done = subprocess.run(
                [
                    *verity,
                    "reindex",
                    "--rebuild",
                    "--model",
                    model,
                    "--gate",
                    str(args.questions),
                    "--json",
                ],
                env=env,
                capture_output=True,
                check=False,
                text=True,
            )
            report = json.loads(done.stdout.splitlines()[0]) if done.stdout else None
            runs.append(
                {
                    "model": model,
                    "exit": done.returncode,
                    "report": report,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
