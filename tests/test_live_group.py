"""Several live sessions in one process sharing one model: each session is judged exactly as
it would be alone, one broken input does not stop the others, and the sessions CSV is
checked up front, line by line."""
import json

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.inputs.transcribe import load_model
from phonecoach.live.group import load_sessions

from .conftest import SAMPLES


@pytest.mark.slow
def test_sessions_in_one_process_share_the_model_and_judge_as_alone(ko_model, tmp_path):
    calls = [SAMPLES / "hold_call.flac", SAMPLES / "blame_call.flac"]
    alone = {}
    for call in calls:
        r = CliRunner().invoke(main, ["live", "--replay", str(call), "--speed", "0", "--jsonl", "--model",
                                      str(ko_model), "--out", str(tmp_path / "alone" / call.stem)])
        assert r.exit_code == 0, r.output
        alone[call.stem] = json.loads((tmp_path / "alone" / call.stem / "report.json").read_text(encoding="utf-8"))
    loads = load_model.cache_info().misses
    csv = tmp_path / "floor.csv"
    csv.write_text("name,replay\n" + "".join(f"{c.stem},{c}\n" for c in calls) + "broken,"
                   f"{tmp_path / 'missing.wav'}\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["live", "--sessions", str(csv), "--speed", "0", "--jsonl", "--model",
                                  str(ko_model), "--out", str(tmp_path / "floor")])
    assert r.exit_code == 1  # the broken session is reported ...
    assert "session broken:" in r.stderr and "missing.wav" in r.stderr
    assert load_model.cache_info().misses == loads  # ... and the model was not loaded again
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert {x["session"] for x in lines} == {c.stem for c in calls}
    for call in calls:  # ... while the others ran, each judged as it was alone
        together = json.loads((tmp_path / "floor" / call.stem / "report.json").read_text(encoding="utf-8"))
        assert together["score"] == alone[call.stem]["score"]
        assert {x["rule"]: x["status"] for x in together["rules"]} == {x["rule"]: x["status"] for x in
                                                                       alone[call.stem]["rules"]}
        # recognition is deterministic (dither off), so the words and every measure are the same
        assert together["utterances"] == alone[call.stem]["utterances"]
        assert together["measures"] == alone[call.stem]["measures"]
        mine = [x for x in lines if x["session"] == call.stem]
        saved = (tmp_path / "floor" / call.stem / "warnings.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(mine) == len(saved) > 0


@pytest.mark.parametrize("text,problem", [
    ("agent,replay\nx,a.wav\n", "header with 'name'"),
    ("name,replay\nbad name,a.wav\n", "line 2: session name"),
    ("name,replay,device\nx,a.wav,3\n", "line 2: give either"),
    ("name,replay\nx,a.wav\nx,b.wav\n", "unique: x"),
    ("name,replay,agent_channel\nx,a.wav,middle\n", "agent_channel"),
])
def test_sessions_csv_mistakes_are_one_line_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "floor.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception) as err:
        load_sessions(path)
    assert problem in str(err.value) and "floor.csv" in str(err.value) and "\n" not in str(err.value)


def test_several_sessions_refuse_single_session_options(tmp_path):
    r = CliRunner().invoke(main, ["live", "--replay", "a.wav", "--replay", "b.wav", "--serve", "127.0.0.1:0"])
    assert r.exit_code == 2 and "--sessions" in r.output
