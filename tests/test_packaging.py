"""The package imports and runs without torch, and `%load_ext` imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
sys.modules["torch"] = None  # as if torch were not installed: importing it raises
import jupyter_hpo, jupyter_hpo.magic
heavy = [m for m in ("torch", "matplotlib", "pandas", "skopt", "ipywidgets", "sklearn")
         if sys.modules.get(m) is not None]
from jupyter_hpo import Real, Space, tune
study = tune(lambda config: config["x"], Space({"x": Real(0, 1)}), metric="value",
             mode="max", trials=5, seed=0)
print(json.dumps({"heavy": heavy, "state": study.state, "trials": len(study.trials),
                  "device": str(study.trials[0].device)}))
"""


def test_imports_lazily_and_works_without_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    facts = json.loads(out.strip().splitlines()[-1])
    assert facts["heavy"] == []
    assert facts["state"] == "finished" and facts["trials"] == 5
    assert facts["device"] == "cpu"
