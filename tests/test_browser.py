"""The replay page and the dashboard in a real browser (Debian's Chromium, driven by Selenium):
clicking a finding, a transcript line or a timeline mark plays the call from that moment, a
transcript's HTML runs nothing, and clicking an agent on the dashboard shows their calls."""
import json
import shutil
import time

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main

from .conftest import SAMPLES
from .test_callpage import HOSTILE, dashboard_store

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which(CHROMIUM) and shutil.which(DRIVER)):
        pytest.fail("chromium and chromium-driver are missing: run 'bash scripts/setup.sh --test'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio", "--window-size=1200,1800",
                "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def wait(condition, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def player_time(browser) -> float:
    return browser.execute_script("return document.getElementById('player').currentTime")


def test_clicking_a_finding_a_line_or_a_mark_plays_the_call_from_there(browser, tmp_path):
    from selenium.webdriver.common.by import By

    out = tmp_path / "hold.html"
    assert CliRunner().invoke(main, ["report", str(SAMPLES / "hold_call.flac"), "-o", str(out)]).exit_code == 0
    report = json.loads(CliRunner().invoke(main, ["score", str(SAMPLES / "hold_call.flac"), "--json"]).stdout)
    browser.get(out.as_uri())
    wait(lambda: browser.execute_script("return document.getElementById('player').readyState >= 1"))
    import soundfile as sf

    seconds = sf.info(str(SAMPLES / "hold_call.flac")).duration  # the page plays the whole call
    assert browser.execute_script("return document.getElementById('player').duration") == pytest.approx(seconds, abs=0.2)
    findings = browser.find_elements(By.CSS_SELECTOR, "article.finding")
    broken = {r["rule"] for r in report["rules"] if r["status"] == "fail"}
    assert {f.get_attribute("data-rule") for f in findings if f.is_displayed()} == broken
    lines = browser.find_elements(By.CSS_SELECTOR, "#transcript li.utt")
    assert [x.find_element(By.CSS_SELECTOR, ".text").text for x in lines] == [u["text"] for u in report["utterances"]]

    finding = browser.find_element(By.CSS_SELECTOR, 'article.finding[data-rule="hold.thank_after"] h3')
    finding.click()
    start = float(browser.find_element(By.CSS_SELECTOR, 'article.finding[data-rule="hold.thank_after"]')
                  .get_attribute("data-start"))
    assert start > 20 and player_time(browser) == pytest.approx(start, abs=0.6)

    line = lines[5]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", line)
    line.click()
    assert player_time(browser) == pytest.approx(float(line.get_attribute("data-start")), abs=0.6)

    mark = browser.find_element(By.CSS_SELECTOR, '.lane-finding rect[data-rule="hold.thank_after"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", mark)
    mark.click()
    assert player_time(browser) == pytest.approx(float(mark.get_attribute("data-start")), abs=0.6)
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000


def test_a_live_sessions_page_plays_the_call_from_the_wav_beside_it(browser, tmp_path):
    """A live session's report.html plays call.wav from its folder (opened as a file, under the
    page's Content-Security-Policy), the whole call, and a click on a moment seeks it there."""
    import soundfile as sf
    from selenium.webdriver.common.by import By

    folder = tmp_path / "session"
    r = CliRunner().invoke(main, ["live", "--replay", str(SAMPLES / "hold_call.flac"), "--speed", "0",
                                  "--out", str(folder)])
    assert r.exit_code == 0, r.output
    browser.get((folder / "report.html").as_uri())
    wait(lambda: browser.execute_script("return document.getElementById('player').readyState >= 1"))
    assert browser.execute_script("return document.getElementById('player').error") is None
    seconds = sf.info(str(SAMPLES / "hold_call.flac")).duration
    assert browser.execute_script("return document.getElementById('player').duration") == pytest.approx(seconds, abs=0.05)
    moment = next(b for b in browser.find_elements(By.CSS_SELECTOR, "[data-start]")
                  if b.is_displayed() and float(b.get_attribute("data-start")) > 5)
    start = float(moment.get_attribute("data-start"))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", moment)
    moment.click()
    assert player_time(browser) == pytest.approx(start, abs=0.6)
    wait(lambda: player_time(browser) > start + 0.3)  # and it plays on from there


def test_a_transcript_with_html_in_it_is_shown_as_text_and_runs_nothing(browser, tmp_path):
    from selenium.webdriver.common.by import By

    transcript = json.loads((SAMPLES / "hold_call.transcript.json").read_text(encoding="utf-8"))
    for turn, bad in zip(transcript["turns"], HOSTILE * 3):
        turn["text"] = bad + turn["text"]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(transcript, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "hostile.html"
    r = CliRunner().invoke(main, ["report", str(SAMPLES / "hold_call.flac"), "--transcript", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    browser.get(out.as_uri())
    wait(lambda: browser.execute_script("return document.readyState === 'complete'"))
    time.sleep(0.3)  # an onerror handler would have fired by now
    assert browser.execute_script("return window.__pwned === undefined")
    texts = [x.text for x in browser.find_elements(By.CSS_SELECTOR, "#transcript li.utt .text")]
    assert texts[0].startswith(HOSTILE[0]) and texts[1].startswith(HOSTILE[1]) and texts[2].startswith(HOSTILE[2])
    assert browser.execute_script("return document.querySelectorAll('#transcript img, #transcript script, "
                                  "#transcript li svg').length") == 0


def test_dashboard_click_an_agent_to_see_their_calls_and_open_one(browser, tmp_path):
    from selenium.webdriver.common.by import By

    db = dashboard_store(tmp_path)
    out = tmp_path / "site" / "dashboard.html"
    assert CliRunner().invoke(main, ["report", "--store", str(db), "-o", str(out)]).exit_code == 0
    summary = json.loads(CliRunner().invoke(main, ["summary", "--store", str(db), "--json"]).stdout)
    browser.get(out.as_uri())
    calls = browser.find_elements(By.CSS_SELECTOR, "tr.call")
    assert len([c for c in calls if c.is_displayed()]) == summary["calls"]
    agent = next(a for a in summary["agents"] if a["agent"] == "zhao<b>&")  # the hostile name, as text
    row = browser.find_element(By.CSS_SELECTOR, f"tr.agent:nth-child({summary['agents'].index(agent) + 1})")
    assert row.find_element(By.CSS_SELECTOR, "td").text == "zhao<b>&"
    row.click()
    shown = [c for c in calls if c.is_displayed()]
    assert len(shown) == agent["calls"] and {c.get_attribute("data-agent") for c in shown} == {agent["agent"]}
    assert browser.find_element(By.ID, "calls-title").text.startswith("Calls of zhao<b>&")
    browser.save_screenshot(str(tmp_path / "dashboard.png"))

    rule = next(r for r in summary["rules"] if r["broken"])
    browser.find_element(By.CSS_SELECTOR, f'tr.rule[data-rule="{rule["rule"]}"]').click()
    shown = [c for c in calls if c.is_displayed()]
    assert len(shown) == rule["broken"]
    assert all(rule["rule"] in c.get_attribute("data-broken").split() for c in shown)

    shown[0].find_element(By.CSS_SELECTOR, "a").click()  # the worst call that broke it: its replay page
    wait(lambda: browser.find_elements(By.CSS_SELECTOR, "article.finding"))
    assert browser.find_elements(By.CSS_SELECTOR, f'article.finding[data-rule="{rule["rule"]}"]')


def test_the_served_archive_filters_searches_and_plays_a_call_from_a_click(browser, tmp_path):
    """phonecoach serve: pick an agent, search a phrase as ASR might have written it, open a
    call, click a finding: the recording (streamed by range requests) plays from there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from phonecoach.sinks.served import serve_archive

    db = dashboard_store(tmp_path)
    server = serve_archive(db, "127.0.0.1", 0)
    try:
        browser.get(server.address + "/")
        all_rows = browser.find_elements(By.CSS_SELECTOR, "tr.call")
        Select(browser.find_element(By.ID, "f-agent")).select_by_value("wang")
        browser.execute_script("window.oldPage = true")
        browser.find_element(By.ID, "f-go").click()
        rows = wait(lambda: browser.execute_script("return !window.oldPage && document.readyState === 'complete'")
                    and browser.find_elements(By.CSS_SELECTOR, "tr.call"))
        assert "agent=wang" in browser.current_url
        assert 0 < len(rows) < len(all_rows) and {r.get_attribute("data-agent") for r in rows} == {"wang"}
        Select(browser.find_element(By.ID, "f-agent")).select_by_value("")
        q = browser.find_element(By.ID, "f-q")
        q.clear()
        q.send_keys("與我無關")  # traditional characters: found all the same
        browser.execute_script("window.oldPage = true")
        browser.find_element(By.ID, "f-go").click()
        # the new page once it has loaded (the address changes while the old page is still shown)
        rows = wait(lambda: browser.execute_script("return !window.oldPage && document.readyState === 'complete'")
                    and browser.find_elements(By.CSS_SELECTOR, "tr.call"))
        assert "q=" in browser.current_url
        assert rows and all("never.shift_blame" in r.text for r in rows)
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        wait(lambda: "/calls/" in browser.current_url)
        wait(lambda: browser.execute_script("return document.getElementById('player').readyState >= 1"))
        finding = browser.find_element(By.CSS_SELECTOR, 'article.finding[data-rule="never.shift_blame"]')
        start = float(finding.get_attribute("data-start"))
        finding.find_element(By.CSS_SELECTOR, "h3").click()
        assert start > 1 and wait(lambda: abs(player_time(browser) - start) < 0.6)
    finally:
        server.stop()


def _sign_in(browser, base: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(base + "/")
    wait(lambda: "/login" in browser.current_url)
    browser.find_element(By.ID, "l-user").send_keys(name)
    browser.find_element(By.ID, "l-password").send_keys(password)
    browser.find_element(By.ID, "l-go").click()
    wait(lambda: "/login" not in browser.current_url and browser.find_elements(By.ID, "who"))


def test_in_the_browser_each_role_sees_its_calls_a_review_changes_the_score_and_a_dispute_goes_round(browser, tmp_path):
    """Issue 39 in Chromium: an agent signs in and sees their calls only, reaches no other call by
    its URL, disputes a finding; their supervisor sees the team's calls only; a qa reviewer sees
    everyone's, accepts the dispute on the call's page and the call then shows both scores; the
    agent sees the outcome."""
    import re
    import sqlite3

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from phonecoach.sinks.served import serve_archive

    db = dashboard_store(tmp_path)
    password = "a long passphrase 1"
    for args in (["li", "--role", "qa"], ["wang", "--role", "agent", "--agent", "wang", "--team", "north"],
                 ["zhao", "--role", "supervisor", "--team", "north"]):
        r = CliRunner().invoke(main, ["users", "add", *args, "--store", str(db), "--password-stdin"],
                               input=password + "\n")
        assert r.exit_code == 0, r.output
    con = sqlite3.connect(str(db))
    mine = con.execute("SELECT c.id FROM calls c WHERE agent = 'wang' AND EXISTS (SELECT 1 FROM rule_results r "
                       "WHERE r.call = c.id AND r.status = 'fail') ORDER BY id LIMIT 1").fetchone()[0]
    other = con.execute("SELECT id FROM calls WHERE agent != 'wang' ORDER BY id LIMIT 1").fetchone()[0]
    con.close()
    server = serve_archive(db, "127.0.0.1", 0)
    base = server.address
    try:
        _sign_in(browser, base, "wang", password)
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.call")
        assert rows and {r.get_attribute("data-agent") for r in rows} == {"wang"}
        browser.get(f"{base}/calls/{other}")  # another agent's call, typed in
        assert "not yours to see" in browser.find_element(By.TAG_NAME, "body").text
        assert not browser.find_elements(By.CSS_SELECTOR, "article.finding")
        browser.get(f"{base}/calls/{mine}")
        rule = Select(browser.find_element(By.ID, "d-rule")).options[0].get_attribute("value")
        browser.find_element(By.ID, "d-comment").send_keys("我说过工号了，请再听一下")
        browser.find_element(By.ID, "d-save").click()
        wait(lambda: browser.find_elements(By.CSS_SELECTOR, f'article.dispute.state-open[data-rule="{rule}"]'))

        # the supervisor of wang's team sees their team's calls and no other
        _sign_in(browser, base, "zhao", password)
        assert {r.get_attribute("data-agent") for r in browser.find_elements(By.CSS_SELECTOR, "tr.call")} == {"wang"}
        assert [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "f-agent")).options] == ["", "wang"]
        assert browser.find_element(By.ID, "who").text.startswith("signed in as zhao (supervisor)")
        browser.get(f"{base}/calls/{other}")
        assert "not yours to see" in browser.find_element(By.TAG_NAME, "body").text

        _sign_in(browser, base, "li", password)
        assert len({r.get_attribute("data-agent") for r in browser.find_elements(By.CSS_SELECTOR, "tr.call")}) > 1
        browser.get(f"{base}/calls/{mine}")
        machine = float(browser.find_element(By.ID, "machine-score").text)
        assert not browser.find_elements(By.ID, "reviewed-score")
        dispute = browser.find_element(By.CSS_SELECTOR, f'article.dispute[data-rule="{rule}"]')
        dispute.find_element(By.NAME, "note").send_keys("听到了，0:03 报了工号")
        dispute.find_element(By.CSS_SELECTOR, 'button[value="accept"]').click()
        reviewed = float(wait(lambda: browser.find_elements(By.ID, "reviewed-score"))[0].text)
        assert reviewed > machine and float(browser.find_element(By.ID, "machine-score").text) == machine
        # the dashboard's list uses the reviewed score
        browser.get(base + "/?agent=wang")
        row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tr.call")
                   if f"/calls/{mine}" in r.find_element(By.CSS_SELECTOR, "a").get_attribute("href"))
        assert f"{reviewed:.1f}" in row.text

        _sign_in(browser, base, "wang", password)
        browser.get(f"{base}/calls/{mine}")
        outcome = browser.find_element(By.CSS_SELECTOR, f'article.dispute[data-rule="{rule}"]')
        assert "accepted" in outcome.text and "听到了" in outcome.text
        assert not browser.find_elements(By.ID, "review-form")  # an agent never reviews
        assert re.search(r"\d", browser.find_element(By.ID, "reviewed-score").text)
    finally:
        server.stop()
