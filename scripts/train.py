"""Train the Rasa model only when its inputs changed, reusing a cache across clones.

The model name is a hash of everything training reads (config.yml, domain.yml, data/, our NLU
components, the pinned dependencies). ``models/`` holds exactly the current model; a copy is kept in
``$POWERBOT_CACHE`` (default ``~/.cache/powerbot/models``) so a fresh clone or CI run with the same
inputs skips the several minutes of training. Prints the model path on the last line.

    .venv/bin/python scripts/train.py [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ["config.yml", "domain.yml", "data", "bot/nlu", "bot/textnorm.py", "requirements.txt", "constraints.txt"]


def input_files() -> list:
    files = []
    for item in INPUTS:
        path = ROOT / item
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts)
        elif path.exists():
            files.append(path)
    return files


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in input_files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("POWERBOT_CACHE", Path.home() / ".cache" / "powerbot")) / "models"


def current_model() -> Path:
    return ROOT / "models" / f"powerbot-{fingerprint()}.tar.gz"


def train(force: bool = False) -> Path:
    model = current_model()
    models = model.parent
    models.mkdir(exist_ok=True)
    cached = cache_dir() / model.name
    if model.exists() and not force:
        print(f"model up to date: {model.relative_to(ROOT)}", file=sys.stderr)
    elif cached.exists() and not force:
        shutil.copyfile(cached, model)
        print(f"model restored from cache: {cached}", file=sys.stderr)
    else:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
                   RASA_MAX_CACHE_SIZE="0", SQLALCHEMY_SILENCE_UBER_WARNING="1")
        started = time.monotonic()
        print("training the model (NLU and dialogue policies)…", file=sys.stderr)
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "rasa"), "train", "--config", "config.yml", "--domain", "domain.yml",
             "--data", "data", "--out", str(models), "--fixed-model-name", model.name[: -len(".tar.gz")]],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL if os.environ.get("CI") else None,
        )
        elapsed = time.monotonic() - started
        print(f"trained in {elapsed:.0f} s", file=sys.stderr)
        (ROOT / "models" / ".train-seconds").write_text(f"{elapsed:.1f}\n")
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model, cached)
    for other in models.glob("*.tar.gz"):
        if other != model:
            other.unlink()
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="train even when a model for these inputs exists")
    parser.add_argument("--print-path", action="store_true", help="only print the current model's path")
    args = parser.parse_args()
    if args.print_path:
        print(current_model())
        return 0
    print(train(args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
