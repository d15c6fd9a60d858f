"""What the browser tests share: Debian's Chromium (fail in CI when missing, skip elsewhere) and
the script that counts the features Leaflet drew per ganpo layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GANPO_CHROMIUM", "/usr/bin/chromium")

#: Features per ``_layer`` property on every Leaflet map of the page.
COUNT_JS = """() => {
  const counts = {};
  for (const key of Object.keys(window)) {
    let value;
    try { value = window[key]; } catch (e) { continue; }
    if (value && window.L && value instanceof L.Map) {
      value.eachLayer(layer => {
        const p = layer.feature && layer.feature.properties;
        if (p && p._layer) counts[p._layer] = (counts[p._layer] || 0) + 1;
      });
    }
  }
  return counts;
}"""


def require_chromium() -> None:
    """Fail the module in CI (``CI`` set) without Chromium; skip it on a developer machine."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium); CI installs it", allow_module_level=True)
