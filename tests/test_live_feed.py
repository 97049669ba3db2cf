"""The supervisor feed: a page and an SSE stream on 127.0.0.1, a token everywhere else."""
import json
import threading
import urllib.error
import urllib.request

import pytest

from phonecoach.core.alerts import LiveWarning
from phonecoach.sinks.feed import WarningFeed


def warning(rule="never.shift_blame", t=5.0):
    return LiveWarning(rule, "msg", "fix", "critical", t, t + 0.2, "与我无关")


@pytest.fixture
def feed():
    f = WarningFeed("127.0.0.1", 0, session="agent-7")
    f.start()
    yield f
    f.stop()


def read_events(url, n, out):
    with urllib.request.urlopen(url, timeout=10) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
                if len(out) >= n:
                    return


def test_sse_stream_carries_backlog_and_new_warnings(feed):
    feed(warning(t=1.0))
    got: list = []
    reader = threading.Thread(target=read_events, args=(feed.address + "/events", 2, got))
    reader.start()
    for _ in range(50):  # wait until the client is connected
        if feed.clients:
            break
        threading.Event().wait(0.05)
    feed(warning("never.interrupt", t=9.0))
    reader.join(timeout=10)
    assert [w["rule"] for w in got] == ["never.shift_blame", "never.interrupt"]
    assert got[1]["session"] == "agent-7" and got[1]["t_audio"] == 9.0


def test_page_and_history(feed):
    feed(warning())
    page = urllib.request.urlopen(feed.address + "/", timeout=5).read().decode()
    assert "EventSource" in page and "phonecoach" in page
    history = json.loads(urllib.request.urlopen(feed.address + "/warnings", timeout=5).read())
    assert history[0]["rule"] == "never.shift_blame"


def test_token_is_required_when_set():
    f = WarningFeed("127.0.0.1", 0, token="s3cret")
    f.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f.address + "/warnings", timeout=5)
        assert exc.value.code == 403
        assert urllib.request.urlopen(f.address + "/warnings?token=s3cret", timeout=5).status == 200
        req = urllib.request.Request(f.address + "/warnings", headers={"Authorization": "Bearer s3cret"})
        assert urllib.request.urlopen(req, timeout=5).status == 200
    finally:
        f.stop()


def test_other_addresses_need_a_token():
    with pytest.raises(ValueError, match="--token"):
        WarningFeed("0.0.0.0", 0)


def test_feed_over_tls_with_a_certificate(tmp_path):
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    f = WarningFeed("127.0.0.1", 0, token="s3cret", tls_cert=cert, tls_key=key)
    f.start()
    try:
        assert f.address.startswith("https://")
        f(warning())
        trusted = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f.address + "/warnings?token=s3cret", timeout=5, context=trusted) as resp:
            assert json.loads(resp.read())[0]["rule"] == "never.shift_blame"
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain HTTP on the TLS port: no answer
            urllib.request.urlopen(f.address.replace("https", "http") + "/warnings?token=s3cret", timeout=5)
    finally:
        f.stop()
