"""Test tiers follow the folders: tests/unit is the fast tier, the others are marked and slower."""

from __future__ import annotations

import pathlib

import pytest

_TIERS = {"unit": "unit", "apiserver": "apiserver", "controller": "controller", "acme": "acme",
          "faults": "controller"}  # the fault suite runs with the controller tier


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = pathlib.Path(__file__).parent
    for item in items:
        try:
            tier = pathlib.Path(str(item.fspath)).relative_to(root).parts[0]
        except ValueError:
            continue
        marker = _TIERS.get(tier)
        if marker:
            item.add_marker(getattr(pytest.mark, marker))
        if tier == "faults":
            item.add_marker(pytest.mark.faults)
