# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTML report of a real preflight run, rendered by headless Chromium.

The screenshot proves the blockers are what a reader sees first; the DOM dumps prove the
blocked hosts are listed first and that the filters (pre-applied from the URL fragment) work.
"""

from __future__ import annotations

import collections
import html.parser
import json
import shutil
import struct
import subprocess
import zlib

import pytest

import preflight_runs as runs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BLOCKER_RGB = (0xB7, 0x1C, 0x1C)  # --blocker in report.py's CSS
VIEWPORT = (1280, 900)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not (runs.COLLECTIONS / "ansible_collections" / "winimage" / "generalize").exists():
        pytest.fail("the collection is not linked into %s: run `make setup` first" % runs.COLLECTIONS)
    return runs.run_preflight(str(tmp_path_factory.getbasetemp() / "preflight-playbook"), "normal")


@pytest.fixture(scope="module")
def report(run):
    return json.loads((run["report_dir"] / "report.json").read_text(encoding="utf-8"))


def chromium(tmp_path, *args):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--user-data-dir=%s" % (tmp_path / "chromium-profile")] + list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def page_url(run, fragment=""):
    return (run["report_dir"] / "report.html").as_uri() + fragment


# ---------------------------------------------------------------------------------------
# PNG decoding with the standard library (8-bit RGB/RGBA, not interlaced: what Chromium writes)
# ---------------------------------------------------------------------------------------

def _paeth(left, up, up_left):
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def _add_bytewise(first, second):
    """(a + b) mod 256 for every byte pair, computed on two big integers without carries."""
    size = len(first)
    low, high = int.from_bytes(b"\x7f" * size, "big"), int.from_bytes(b"\x80" * size, "big")
    a, b = int.from_bytes(first, "big"), int.from_bytes(second, "big")
    return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(size, "big")


def decode_png(data):
    """(width, height, rows) where rows[y] is a list of (r, g, b)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour, interlace = header[:4] + header[6:]
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG layout %r" % (header,)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 2:  # "Up", the commonest filter: add the previous row bytewise, all at once
            line = bytearray(_add_bytewise(line, previous))
            kind = 0
        for x in range(stride if kind else 0):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            up_left = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[x] = (line[x] + _paeth(left, up, up_left)) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, channels)])
        previous = line
    return width, height, rows


def near(pixel, colour, tolerance=8):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def test_blockers_are_visible_at_the_top_of_the_page(run, report, tmp_path):
    assert report["summary"]["states"]["blocked"] > 0
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--screenshot=%s" % shot, "--window-size=%d,%d" % VIEWPORT, page_url(run))
    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == VIEWPORT
    # The "Blocked" tile sits in the first fifth of the page...
    top = sum(near(p, BLOCKER_RGB) for row in rows[:height // 5] for p in row)
    assert top > 5000, "no blocker-red area in the top of the page (%d pixels)" % top
    # ...and blocker badges of the first matrix rows are on the first screen too.
    badges = sum(near(p, BLOCKER_RGB) for row in rows[height // 3:] for p in row[width // 3:])
    assert badges > 200, "no blocker badges in the matrix on the first screen (%d pixels)" % badges


Row = collections.namedtuple("Row", "host state hidden")
Article = collections.namedtuple("Article", "finding severity hidden")


class _Dom(html.parser.HTMLParser):
    """Rows of the hosts x findings matrix and the finding sections, with their hidden state."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows = []
        self.articles = []
        self.count = ""
        self._in_matrix = self._in_count = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("class") == "matrix":
            self._in_matrix = True
        elif tag == "tr" and self._in_matrix and "data-state" in attrs:
            self.rows.append(Row(attrs["data-host"], attrs["data-state"], "hidden" in attrs))
        elif tag == "article":
            self.articles.append(Article(attrs["data-finding"], attrs["data-severity"], "hidden" in attrs))
        elif tag == "output" and attrs.get("id") == "filter-count":
            self._in_count = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_matrix = False
        elif tag == "output":
            self._in_count = False

    def handle_data(self, data):
        if self._in_count:
            self.count += data


def dump_dom(run, tmp_path, fragment=""):
    dom = _Dom()
    dom.feed(chromium(tmp_path, "--dump-dom", page_url(run, fragment)).stdout)
    return dom


def test_blocked_hosts_come_first_and_script_runs(run, report, tmp_path):
    dom = dump_dom(run, tmp_path)
    states = [row.state for row in dom.rows]
    blocked = report["summary"]["states"]["blocked"]
    assert states[:blocked] == ["blocked"] * blocked
    assert "blocked" not in states[blocked:]
    assert not any(row.hidden for row in dom.rows)
    # The count is written by the page's script: it ran despite the strict content policy.
    assert dom.count == "%d of %d hosts shown" % (len(dom.rows), len(dom.rows))
    severities = [article.severity for article in dom.articles]
    assert severities == sorted(severities, key=["blocker", "warning", "info"].index)


def test_fragment_filters_by_host_name(run, report, tmp_path):
    target = report["summary"]["hosts_by_state"]["blocked"][0]
    dom = dump_dom(run, tmp_path, "#host=" + target.upper())
    assert [row.host for row in dom.rows if not row.hidden] == [target.lower()]
    assert dom.count == "1 of %d hosts shown" % len(dom.rows)
    entry = next(h for h in report["hosts"] if h["name"] == target)
    shown = sorted(article.finding for article in dom.articles if not article.hidden)
    assert shown == sorted(f["id"] for f in entry["findings"])


def test_fragment_filters_by_severity(run, report, tmp_path):
    dom = dump_dom(run, tmp_path, "#severity=blocker")
    shown_hosts = {row.host for row in dom.rows if not row.hidden}
    with_blocker_findings = {h["name"].lower() for h in report["hosts"]
                             if any(f["severity"] == "blocker" for f in h["findings"]) or h["error"]}
    assert shown_hosts == with_blocker_findings
    assert {article.severity for article in dom.articles if not article.hidden} == {"blocker"}
    ready = {h["name"].lower() for h in report["hosts"] if h["state"] == "ready"}
    assert ready and not ready & shown_hosts


def test_fragment_filters_by_finding_id(run, report, tmp_path):
    finding = report["findings"][0]
    dom = dump_dom(run, tmp_path, "#finding=" + finding["id"])
    shown_hosts = sorted(row.host for row in dom.rows if not row.hidden)
    assert shown_hosts == sorted(h.lower() for h in finding["hosts_fail"] + finding["hosts_unknown"])
    assert [article.finding for article in dom.articles if not article.hidden] == [finding["id"]]
