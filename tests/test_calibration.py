"""Calibration against a team's audits: figures checked by hand, labels matched to stored
calls by file or call id, and every disagreement listed with the scorer's evidence."""
import json

import pytest
from click.testing import CliRunner

from phonecoach.archive.calibration import Label, Pair, figures, load_labels
from phonecoach.cli.main import main

from .test_batch import archive, batch


def pairs(scorer: str, auditor: str) -> list[Pair]:
    code = {"F": "fail", "P": "pass", "N": "not_applicable"}
    return [Pair(Label(f"c{i}", "r", code[a], "x", i), f"c{i}", code[s], "") for i, (s, a) in
            enumerate(zip(scorer, auditor))]


def test_figures_checked_by_hand():
    # scorer F F F P P P P N F P / auditor F F P P P F P N F F
    f = figures(pairs("FFFPPPPNFP", "FFPPPFPNFF"))
    assert f["n"] == 10
    assert f["agreement"] == 0.7  # positions 1 2 4 5 7 8 9
    assert f["fail_precision"] == 0.75  # of the scorer's 4 fails, 3 are the auditor's
    assert f["fail_recall"] == 0.6  # of the auditor's 5 fails, the scorer found 3
    # chance: 0.4 x 0.5 (fail) + 0.5 x 0.4 (pass) + 0.1 x 0.1 (n/a) = 0.41; (0.7 - 0.41) / 0.59
    assert f["kappa"] == pytest.approx(0.492, abs=0.001)
    perfect = figures(pairs("FPN", "FPN"))
    assert perfect["agreement"] == 1.0 and perfect["kappa"] == 1.0
    assert figures(pairs("PP", "PP"))["kappa"] is None  # one status only: chance is certain
    assert figures([])["agreement"] is None


def test_calibrate_against_audits_of_stored_calls(tmp_path):
    calls = archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    assert batch(str(tmp_path / "arch"), "--store", str(db), "--quiet").returncode == 0
    scored = {}
    for c in calls:
        r = CliRunner().invoke(main, ["score", str(c), "--json"])
        scored[c.name] = {x["rule"]: x for x in json.loads(r.stdout)["rules"]}
    a, b = calls[0].name, calls[1].name
    flip = {"pass": "fail", "fail": "pass", "not_applicable": "fail"}
    rows = [(a, "answer.greeting", scored[a]["answer.greeting"]["status"], "amy"),
            (a, "answer.greeting", scored[a]["answer.greeting"]["status"], "bo"),
            (b, "close.thanks", flip[scored[b]["close.thanks"]["status"]], "amy"),
            (b, "close.thanks", scored[b]["close.thanks"]["status"], "bo"),
            ("nowhere.wav", "close.thanks", "pass", "bo")]
    labels = tmp_path / "audits.csv"
    labels.write_text("file,rule,status,auditor\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    r = CliRunner().invoke(main, ["calibrate", "--store", str(db), "--labels", str(labels), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["overall"]["n"] == 4 and out["overall"]["agreement"] == 0.75
    assert out["auditors"]["bo"]["agreement"] == 1.0 and out["auditors"]["amy"]["agreement"] == 0.5
    assert out["rules"]["answer.greeting"]["agreement"] == 1.0
    assert out["auditor_pairs"] == [{"auditors": ["amy", "bo"], "n": 2, "agreement": 0.5}]
    [d] = out["differ"]
    assert d["rule"] == "close.thanks" and d["auditor"] == "amy" and d["file"].endswith(b)
    want = scored[b]["close.thanks"]
    assert d["evidence"] == (want["evidence"] or want["detail"])
    assert out["not_found"] == [{"line": 6, "call": "nowhere.wav", "rule": "close.thanks"}]
    text = CliRunner().invoke(main, ["calibrate", "--store", str(db), "--labels", str(labels)])
    assert "differ:" in text.output and "amy" in text.output


@pytest.mark.parametrize("text,problem", [("file,rule,status\nx,r,pass\n", "columns"),
                                          ("file,rule,status,auditor\nx,r,maybe,a\n", "line 2: status")])
def test_bad_labels_are_one_line_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "audits.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception) as err:
        load_labels(path)
    assert problem in str(err.value) and "audits.csv" in str(err.value)
