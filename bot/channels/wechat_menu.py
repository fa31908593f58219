"""The Official Account's custom menu, read from the menu file (``wechat_menu.yml``, ``WECHAT_MENU_FILE``).

One file serves three readers: ``bot wechat menu push`` (WeChat's ``menu/create`` JSON), the WeChat
channel (a CLICK event's key → the intent it stands for) and the simulator (draws the same menu). The file
is checked against WeChat's limits when it is loaded, so a bad menu fails at start-up, not at a customer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.config import get_settings

MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
MAX_NAME_BYTES, MAX_SUB_NAME_BYTES, MAX_KEY_BYTES = 16, 60, 128


class MenuError(ValueError):
    """The menu file breaks one of WeChat's rules or ours; the message names the button."""


@dataclass(frozen=True)
class MenuButton:
    name: str
    key: Optional[str] = None  # CLICK buttons
    intent: Optional[str] = None  # CLICK buttons: what a tap means
    url: Optional[str] = None  # VIEW buttons
    sub_buttons: Tuple[MenuButton, ...] = ()

    @property
    def kind(self) -> str:
        if self.sub_buttons:
            return "menu"
        return "view" if self.url else "click"


@dataclass(frozen=True)
class Menu:
    buttons: Tuple[MenuButton, ...]

    def leaves(self) -> List[MenuButton]:
        out: List[MenuButton] = []
        for button in self.buttons:
            out.extend(button.sub_buttons or (button,))
        return out

    def by_key(self, key: str) -> Optional[MenuButton]:
        for button in self.leaves():
            if button.key == key:
                return button
        return None

    def to_wechat(self) -> Dict[str, Any]:
        """The body of WeChat's ``menu/create``."""

        def one(button: MenuButton) -> Dict[str, Any]:
            if button.sub_buttons:
                return {"name": button.name, "sub_button": [one(b) for b in button.sub_buttons]}
            if button.url:
                return {"type": "view", "name": button.name, "url": button.url}
            return {"type": "click", "name": button.name, "key": button.key}

        return {"button": [one(b) for b in self.buttons]}

    def to_simulator(self) -> List[Dict[str, Any]]:
        """What the simulator page needs to draw the menu."""
        return [
            {"name": b.name, "key": b.key, "url": b.url,
             "sub_buttons": [{"name": s.name, "key": s.key, "url": s.url} for s in b.sub_buttons]}
            for b in self.buttons
        ]


def _button(raw: Any, where: str, max_name: int, allow_children: bool) -> MenuButton:
    if not isinstance(raw, dict):
        raise MenuError(f"{where}: expected a mapping")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise MenuError(f"{where}: name missing")
    if len(name.encode("utf-8")) > max_name:
        raise MenuError(f"{where} ({name}): name longer than {max_name} bytes")
    children = raw.get("sub_buttons") or []
    if children:
        if not allow_children:
            raise MenuError(f"{where} ({name}): sub-buttons cannot have sub-buttons")
        if not isinstance(children, list) or len(children) > MAX_SUB_BUTTONS:
            raise MenuError(f"{where} ({name}): at most {MAX_SUB_BUTTONS} sub-buttons")
        subs = tuple(_button(c, f"{where}.{i + 1}", MAX_SUB_NAME_BYTES, False) for i, c in enumerate(children))
        return MenuButton(name=name, sub_buttons=subs)
    kind = str(raw.get("type") or "click").lower()
    if kind == "view":
        url = str(raw.get("url") or "")
        if not re.match(r"^https?://", url):
            raise MenuError(f"{where} ({name}): a view button needs an http(s) url")
        return MenuButton(name=name, url=url)
    if kind != "click":
        raise MenuError(f"{where} ({name}): type must be click or view")
    key, intent = str(raw.get("key") or ""), str(raw.get("intent") or "")
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise MenuError(f"{where} ({name}): key missing or longer than {MAX_KEY_BYTES} bytes")
    if not re.fullmatch(r"[a-z_]+", intent):
        raise MenuError(f"{where} ({name}): intent missing or not an intent name")
    return MenuButton(name=name, key=key, intent=intent)


def parse_menu(data: Any) -> Menu:
    """Check a loaded menu file and build the menu."""
    buttons = (data or {}).get("buttons") if isinstance(data, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MenuError(f"buttons: 1 to {MAX_BUTTONS} buttons expected")
    menu = Menu(tuple(_button(b, f"button {i + 1}", MAX_NAME_BYTES, True) for i, b in enumerate(buttons)))
    keys = [b.key for b in menu.leaves() if b.key]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise MenuError(f"duplicate keys: {', '.join(duplicated)}")
    return menu


def load_menu(path: Path) -> Menu:
    with open(path, encoding="utf-8") as fh:
        return parse_menu(yaml.safe_load(fh))


@functools.lru_cache(maxsize=4)
def _cached(path: str) -> Menu:
    return load_menu(Path(path))


def current_menu() -> Menu:
    """The menu of this process (``WECHAT_MENU_FILE``), read once."""
    return _cached(str(get_settings().wechat_menu_file))
