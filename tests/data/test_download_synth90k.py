"""download_synth90k.sh, offline: a tiny fake Synth90k archive served from 127.0.0.1.

The fake archive has the real layout (mnt/ramdisk/max/90kDICT32px/...). The server is written
here because http.server's SimpleHTTPRequestHandler ignores Range headers, and resuming is what
the script is for. Every download test runs with each of curl and wget that is installed
(SYNTH90K_DOWNLOADER picks one); a machine with neither fails them, loudly.
"""

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import read_records, word_image

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "download_synth90k.sh"
BASH = shutil.which("bash") or "/bin/bash"
NEST = "mnt/ramdisk/max/90kDICT32px"
DOWNLOADERS = [d for d in ("curl", "wget") if shutil.which(d)] or ["curl"]
WORDS = {"1/1/3_hello_12.jpg": ("hello", 12), "1/1/4_World_7.jpg": ("World", 7)}
CONVERT = "python tools/create_tfrecord.py"


def _tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz holding members (name -> bytes), with a directory entry for every parent."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        dirs = sorted({str(p) for name in members for p in Path(name).parents if str(p) != "."})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _annotation(*names: str) -> bytes:
    return "".join(f"./{n} {WORDS[n][1]}\n" for n in names).encode()


LEXICON = [f"word{i}" for i in range(13)]
LEXICON[7], LEXICON[12] = "world", "hello"
MEMBERS = {
    f"{NEST}/1/1/3_hello_12.jpg": word_image("hello"),
    f"{NEST}/1/1/4_World_7.jpg": word_image("World"),
    f"{NEST}/annotation_train.txt": _annotation(*WORDS),
    f"{NEST}/annotation_val.txt": _annotation("1/1/4_World_7.jpg"),
    f"{NEST}/annotation_test.txt": _annotation("1/1/3_hello_12.jpg"),
    f"{NEST}/lexicon.txt": "".join(w + "\n" for w in LEXICON).encode(),
}
ARCHIVE = _tar_gz(MEMBERS)


@dataclass
class Served:
    data: bytes
    head_length: int | None = -1  # HEAD's Content-Length: -1 = the true one, None = none
    redirect: str | None = None  # answer 302 to this path instead


class RangeServer:
    """127.0.0.1, random port, in a thread; GET with 'Range: bytes=N-[M]' and HEAD."""

    def __init__(self):
        self.files: dict[str, Served] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server._answer(self, head=True)

            def do_GET(self):
                server._answer(self, head=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        rng = h.headers.get("Range")
        self.requests.append((h.command, h.path, rng))
        served = self.files.get(h.path)
        if served is None:
            h.send_error(404)
            return
        if served.redirect:
            h.send_response(302)
            h.send_header("Location", served.redirect)
            h.send_header("Content-Length", "5")  # must not be taken for the archive's size
            h.end_headers()
            if not head:
                h.wfile.write(b"moved")
            return
        data, status, extra = served.data, 200, {}
        if head:
            h.send_response(200)
            if served.head_length is not None:
                length = len(data) if served.head_length == -1 else served.head_length
                h.send_header("Content-Length", str(length))
            h.send_header("Accept-Ranges", "bytes")
            h.end_headers()
            return
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            assert m, f"unexpected Range header {rng!r}"
            start = int(m[1])
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            end = min(int(m[2]) if m[2] else len(data) - 1, len(data) - 1)
            data, status = data[start : end + 1], 206
            extra["Content-Range"] = f"bytes {start}-{end}/{len(served.data)}"
        h.send_response(status)
        h.send_header("Content-Type", "application/gzip")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Accept-Ranges", "bytes")
        for key, value in extra.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    def gets(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET"]


@pytest.fixture(scope="module")
def http():
    server = RangeServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def server(http):
    http.files.clear()
    http.files["/mjsynth.tar.gz"] = Served(ARCHIVE)
    http.requests.clear()
    return http


def run_script(*args, downloader=None, path=None, cwd=None, timeout=60):
    env = {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and k != "SYNTH90K_DOWNLOADER"
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if cwd is not None:
        env["HOME"] = str(cwd)  # no ~/.curlrc or ~/.wgetrc
    if downloader:
        env["SYNTH90K_DOWNLOADER"] = downloader
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [BASH, str(SCRIPT), *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def download(server, tmp_path, downloader, *extra, url_path="/mjsynth.tar.gz"):
    dest = tmp_path / "dest"
    res = run_script(
        "--url", server.base + url_path, "--dest", dest, *extra, downloader=downloader, cwd=tmp_path
    )
    return res, dest


def ok(res) -> None:
    assert res.returncode == 0, (
        f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    )


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def printed_commands(stdout: str) -> dict[str, list[str]]:
    """{annotation file name: argv} for each create_tfrecord.py command the script printed."""
    cmds = [shlex.split(line) for line in stdout.splitlines() if line.strip().startswith(CONVERT)]
    return {Path(flag(cmd, "--anno_file")).name: cmd for cmd in cmds}


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_downloads_extracts_and_prints_commands(server, tmp_path, downloader):
    res, dest = download(server, tmp_path, downloader)
    ok(res)
    assert (dest / "mjsynth.tar.gz").read_bytes() == ARCHIVE
    for name, data in MEMBERS.items():
        assert (dest / name).read_bytes() == data, name
    marker = (dest / ".extracted").read_text()
    assert f"archive_size={len(ARCHIVE)}" in marker
    assert server.gets() == [("GET", "/mjsynth.tar.gz", None)]
    assert f"reports {len(ARCHIVE)} bytes" in res.stdout

    root = (dest / NEST).resolve()
    cmds = printed_commands(res.stdout)
    assert sorted(cmds) == ["annotation_test.txt", "annotation_train.txt"]
    train, test = cmds["annotation_train.txt"], cmds["annotation_test.txt"]
    for cmd, data_dir in ((train, "tfrecords/synth90k"), (test, "tfrecords/synth90k_test")):
        assert cmd[:2] == ["python", "tools/create_tfrecord.py"]
        assert flag(cmd, "--anno_format") == "synth90k"
        assert flag(cmd, "--image_dir") == str(root)
        assert flag(cmd, "--data_dir") == data_dir
        assert flag(cmd, "--charset") == "alnum_lower"
        assert "--lowercase" in cmd
    assert flag(train, "--anno_file") == str(root / "annotation_train.txt")
    assert flag(test, "--anno_file") == str(root / "annotation_test.txt")
    assert "--validation_split_fraction" not in train
    assert flag(test, "--validation_split_fraction") == "1.0"
    assert "validation split" in res.stdout and "file name" in res.stdout


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_resumes_partial_download(server, tmp_path, downloader):
    half = len(ARCHIVE) // 2
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mjsynth.tar.gz").write_bytes(ARCHIVE[:half])
    res, _ = download(server, tmp_path, downloader, "--no-extract")
    ok(res)
    assert (dest / "mjsynth.tar.gz").read_bytes() == ARCHIVE
    assert server.gets() == [("GET", "/mjsynth.tar.gz", f"bytes={half}-")]
    assert f"from byte {half}" in res.stdout
    assert not (dest / "mnt").exists() and not (dest / ".extracted").exists()  # --no-extract


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_rerun_does_not_download_or_extract_again(server, tmp_path, downloader):
    ok(download(server, tmp_path, downloader)[0])
    lexicon = tmp_path / "dest" / NEST / "lexicon.txt"
    lexicon.write_text("edited after extraction\n")
    server.requests.clear()

    res, dest = download(server, tmp_path, downloader)
    ok(res)
    assert server.gets() == []  # the size matches: no GET at all
    assert "already complete" in res.stdout and "already tested and extracted" in res.stdout
    assert lexicon.read_text() == "edited after extraction\n"  # not extracted again
    assert "annotation_train.txt" in printed_commands(res.stdout)

    # The archive may be deleted once extracted: a re-run does not fetch it again.
    (dest / "mjsynth.tar.gz").unlink()
    res, _ = download(server, tmp_path, downloader)
    ok(res)
    assert server.gets() == [] and not (dest / "mjsynth.tar.gz").exists()
    assert "annotation_train.txt" in printed_commands(res.stdout)


@pytest.mark.parametrize("downloader", DOWNLOADERS)
@pytest.mark.parametrize("final_length", [True, False], ids=["sized", "unsized"])
def test_follows_redirect_and_uses_final_size(server, tmp_path, downloader, final_length):
    """The 302's own Content-Length (5) is never taken for the archive's size."""
    server.files["/r/mjsynth.tar.gz"] = Served(b"", redirect="/mjsynth.tar.gz")
    if not final_length:
        server.files["/mjsynth.tar.gz"].head_length = None
    res, dest = download(server, tmp_path, downloader, "--no-extract", url_path="/r/mjsynth.tar.gz")
    ok(res)
    if final_length:
        assert f"reports {len(ARCHIVE)} bytes" in res.stdout
    else:
        assert "did not report a size" in res.stdout
    assert (dest / "mjsynth.tar.gz").read_bytes() == ARCHIVE


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_size_mismatch_fails_and_says_rerun(server, tmp_path, downloader):
    server.files["/mjsynth.tar.gz"].head_length = len(ARCHIVE) + 10
    res, dest = download(server, tmp_path, downloader)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "size mismatch" in res.stderr and "re-run" in res.stderr
    assert str(len(ARCHIVE) + 10) in res.stderr
    assert not (dest / "mnt").exists()


def test_local_file_larger_than_remote_fails(server, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mjsynth.tar.gz").write_bytes(ARCHIVE + b"extra")
    res, _ = download(server, tmp_path, DOWNLOADERS[0])
    assert res.returncode == 1 and "Delete it" in res.stderr, res.stdout + res.stderr
    assert server.gets() == []


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_failed_download_says_rerun(server, tmp_path, downloader):
    res, dest = download(server, tmp_path, downloader, url_path="/missing.tar.gz")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "download stopped" in res.stderr and "Re-run" in res.stderr
    assert ("GET", "/missing.tar.gz", None) in server.gets()


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_no_content_length_skips_size_check(server, tmp_path, downloader):
    server.files["/mjsynth.tar.gz"].head_length = None
    res, dest = download(server, tmp_path, downloader)
    ok(res)
    assert "did not report a size" in res.stdout
    assert (dest / NEST / "annotation_train.txt").is_file()


@pytest.mark.parametrize("downloader", DOWNLOADERS)
def test_complete_file_without_content_length(server, tmp_path, downloader):
    """No size from HEAD: the resume request gets 416 (nothing left), which is success."""
    server.files["/mjsynth.tar.gz"].head_length = None
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mjsynth.tar.gz").write_bytes(ARCHIVE)
    res, _ = download(server, tmp_path, downloader, "--no-extract")
    ok(res)
    assert server.gets() == [("GET", "/mjsynth.tar.gz", f"bytes={len(ARCHIVE)}-")]
    assert (dest / "mjsynth.tar.gz").read_bytes() == ARCHIVE
    assert "gzip OK" in res.stdout


def test_sha256(server, tmp_path):
    wrong = "0" * 64
    res, dest = download(server, tmp_path, DOWNLOADERS[0], "--sha256", wrong)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "sha256 mismatch" in res.stderr and wrong in res.stderr
    assert not (dest / "mnt").exists()

    right = hashlib.sha256(ARCHIVE).hexdigest().upper()  # upper case is accepted
    res, dest = download(server, tmp_path, DOWNLOADERS[0], "--sha256", right)
    ok(res)
    assert "SHA-256 OK" in res.stdout
    assert (dest / NEST / "annotation_train.txt").is_file()

    res, _ = download(server, tmp_path, DOWNLOADERS[0], "--sha256", "abc")
    assert res.returncode == 2 and "64 hex digits" in res.stderr


def _garble(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 64]) + data[mid + 64 :]


@pytest.mark.parametrize("downloader", DOWNLOADERS)
@pytest.mark.parametrize("corrupt", [lambda d: d[: len(d) * 2 // 3], _garble], ids=["cut", "flip"])
def test_corrupt_archive_fails_gzip_test(server, tmp_path, downloader, corrupt):
    bad = corrupt(ARCHIVE)
    server.files["/mjsynth.tar.gz"] = Served(bad)  # advertised size = served size
    res, dest = download(server, tmp_path, downloader)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "corrupt" in res.stderr and "gzip -t" in res.stderr
    assert (dest / "mjsynth.tar.gz").read_bytes() == bad  # the size check passed
    assert not (dest / "mnt").exists() and not (dest / ".extracted").exists()


def test_archive_without_annotations_fails(server, tmp_path):
    server.files["/mjsynth.tar.gz"] = Served(_tar_gz({"other/readme.txt": b"not synth90k\n"}))
    res, dest = download(server, tmp_path, DOWNLOADERS[0])
    assert res.returncode == 1, res.stdout + res.stderr
    assert "annotation_train.txt not found" in res.stderr and NEST in res.stderr
    assert (dest / "other" / "readme.txt").is_file()  # it was extracted; only the check failed
    assert CONVERT not in res.stdout


def test_usage_errors(tmp_path):
    res = run_script("--bogus", cwd=tmp_path)
    assert res.returncode == 2 and "unknown argument: --bogus" in res.stderr
    res = run_script("--dest", cwd=tmp_path)
    assert res.returncode == 2 and "--dest needs a value" in res.stderr
    res = run_script("--dest", tmp_path / "d", downloader="ftp", cwd=tmp_path)
    assert res.returncode == 2 and "curl or wget" in res.stderr
    res = run_script("--help", cwd=tmp_path)
    assert res.returncode == 0
    for word in ("--url", "--dest", "--sha256", "--no-extract", "SYNTH90K_DOWNLOADER"):
        assert word in res.stdout
    assert not list(tmp_path.iterdir())  # nothing was created or downloaded


def test_no_downloader_is_a_clear_error(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = run_script("--dest", tmp_path / "d", path=str(empty), cwd=tmp_path)
    assert res.returncode == 1 and "neither curl nor wget" in res.stderr
    res = run_script("--dest", tmp_path / "d", downloader="wget", path=str(empty), cwd=tmp_path)
    assert res.returncode == 1 and "wget is not installed" in res.stderr


def test_printed_commands_convert(server, tmp_path):
    """Runs the printed create_tfrecord.py commands: the train list, then the test list."""
    res, dest = download(server, tmp_path, DOWNLOADERS[0])
    ok(res)
    cmds = printed_commands(res.stdout)
    root = dest / NEST

    def convert(cmd, out, *extra):
        assert cmd[0] == "python"
        argv = [sys.executable, *cmd[1:]]
        argv[argv.index("--data_dir") + 1] = str(out)
        argv += ["--num_workers", "1", "--noprogress", *extra]
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads((out / "dataset.json").read_text())

    train_out = tmp_path / "train"
    summary = convert(cmds["annotation_train.txt"], train_out, "--validation_split_fraction", "0")
    lines = (root / "annotation_train.txt").read_text().splitlines()
    assert (train_out / "train-00000-of-00001.tfrecord").is_file()
    assert summary["records"] == summary["splits"]["train"]["records"] == len(lines) == 2
    assert summary["skipped_total"] == 0
    records = read_records(train_out)
    assert {p: r[2] for p, r in records.items()} == {
        "1/1/3_hello_12.jpg": "hello",
        "1/1/4_World_7.jpg": "world",  # the label comes from the file name, lower-cased
    }

    test_out = tmp_path / "test"
    summary = convert(cmds["annotation_test.txt"], test_out)  # as printed: all in validation
    assert summary["splits"]["validation"]["records"] == 1
    assert summary["splits"]["train"]["records"] == 0
