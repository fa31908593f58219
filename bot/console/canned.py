"""Canned replies (坐席常用语) for the console, read from a YAML file the call center maintains."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import yaml


class CannedRepliesError(ValueError):
    """The canned replies file is malformed (says which entry)."""


def load(path: Path) -> List[Dict[str, str]]:
    """``[{title, text}, ...]`` from ``path``; a missing file means no canned replies."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise CannedRepliesError(f"{path}: expected a list of {{title, text}} entries")
    replies = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not str(item.get("title", "")).strip() or not str(item.get("text", "")).strip():
            raise CannedRepliesError(f"{path}: entry {index} needs a non-empty title and text")
        replies.append({"title": str(item["title"]).strip(), "text": str(item["text"]).strip()})
    return replies
