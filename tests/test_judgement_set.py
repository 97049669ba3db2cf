"""Agreement with a careful human reader on labelled calls, clean and as ASR writes them."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "data" / "judgement_set.jsonl"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def table(pack):
    bench = _load("bench_judgement", ROOT / "benchmarks" / "judgement.py")
    return {(r["variant"], r["rule"]): r for r in bench.table(bench.evaluate(bench.load_set(SET), pack))}


def test_agreement_on_recognised_speech(table):
    assert table[("clean", "ALL")]["agreement"] >= 0.99
    assert table[("noised", "ALL")]["agreement"] >= 0.97
    weak = {k: round(r["agreement"], 3) for k, r in table.items() if r["agreement"] < 0.90}
    assert not weak, weak


def test_precision_and_recall_of_a_fail_both_hold(table):
    for variant in ("clean", "noised"):
        row = table[(variant, "ALL")]
        assert row["precision"] >= 0.95 and row["recall"] >= 0.95, row


def test_the_set_covers_every_text_rule_each_way(table):
    labels = [json.loads(line)["labels"] for line in SET.read_text(encoding="utf-8").splitlines()]
    for rule in {r for lab in labels for r in lab}:
        seen = {lab[rule] for lab in labels}
        assert "fail" in seen and "pass" in seen, (rule, seen)


@pytest.mark.slow
def test_the_set_is_rebuilt_exactly_and_is_really_noisy(tmp_path):
    maker = _load("make_judgement_set", ROOT / "scripts" / "make_judgement_set.py")
    rows = maker.build()
    assert maker.dump(rows) == SET.read_text(encoding="utf-8")  # seeded: the file is what the script makes
    assert 0.05 <= maker.cer(rows) <= 0.15  # like a small recogniser's character error rate
    clean = {r["id"]: r["turns"] for r in rows if r["variant"] == "clean"}
    changed = sum(r["turns"] != clean[r["id"]] for r in rows if r["variant"] == "noised")
    assert changed >= 0.9 * len(clean)


def test_complaint_handling_is_judged_as_a_trainer_would(table):
    """Issue 37: the complaint steps and the never-rules that judge acts, per rule (before the
    acts, on this set: complaint.* 76-77 % agreement noised, never.blame_customer 17 %)."""
    rules = ("complaint.apologise", "complaint.empathy", "complaint.next_step", "complaint.time",
             "complaint.confirm", "never.blame_customer", "never.impatient")
    for rule in rules:
        assert table[("clean", rule)]["agreement"] >= 0.99, table[("clean", rule)]
        assert table[("noised", rule)]["agreement"] >= 0.97, table[("noised", rule)]
