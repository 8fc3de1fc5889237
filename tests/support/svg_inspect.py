#!/usr/bin/env python3
"""Independent checks of entropix report output for the C++ tests, using only the Python stdlib.

  svg_inspect.py elements FILE.svg   parse strictly as XML (exit 1 with the parser's message if it is
                                     not well-formed); print JSON: the root's tag and id, and every
                                     element that has a class attribute: {tag, attrs, text, title}
                                     (title: the text of its child <title> tooltip, or null)
  svg_inspect.py png FILE.png        decode the PNG (zlib + scanline filters); print JSON pixel
                                     statistics: width, height, distinct colours, share of pixels
                                     that differ from the most common colour, luminance std dev,
                                     and every colour present ("#rrggbb")
  svg_inspect.py dom FILE.html       parse HTML (as chromium --dump-dom writes it); print JSON: the
                                     ids of every <svg> element, whether any <script> is present, the
                                     number of <title> elements inside <svg>s, the findings
                                     (<li class="finding">: attributes and text), and every table by id
                                     as rows of cell texts (header row first)
"""
import json
import struct
import sys
import zlib
import xml.etree.ElementTree as ET
from html.parser import HTMLParser


def local(tag):
    return tag.split('}', 1)[1] if tag.startswith('{') else tag


def elements(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        sys.exit(f"{path}: not well-formed XML: {e}")
    out = {"root": local(root.tag), "id": root.get("id"), "elements": []}
    for el in root.iter():
        if el.get("class") is not None:
            title = next((c.text or "" for c in el if local(c.tag) == "title"), None)
            out["elements"].append({"tag": local(el.tag), "attrs": dict(el.attrib), "text": el.text or "", "title": title})
    print(json.dumps(out))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG file")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour_type)
    if depth != 8 or channels is None or interlace != 0:
        sys.exit(f"{path}: unsupported PNG layout (bit depth {depth}, colour type {colour_type}, interlace {interlace})")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:  # up: no dependency within the row, so one pass
            line = bytearray((x + b) & 0xFF for x, b in zip(line, prev))
        elif f in (1, 3, 4):
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                if f == 1:
                    line[i] = (line[i] + a) & 0xFF
                elif f == 3:
                    line[i] = (line[i] + (a + prev[i]) // 2) & 0xFF
                else:
                    c = prev[i - channels] if i >= channels else 0
                    line[i] = (line[i] + paeth(a, prev[i], c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    counts = {}
    for line in rows:
        for x in range(0, width * channels, channels):
            px = bytes(line[x:x + 3]) if channels >= 3 else bytes(line[x:x + 1]) * 3
            counts[px] = counts.get(px, 0) + 1
    lum_sum = lum_sq = 0.0
    for rgb, k in counts.items():
        lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
        lum_sum += k * lum
        lum_sq += k * lum * lum
    n = width * height
    mean = lum_sum / n
    print(json.dumps({
        "width": width, "height": height, "distinct_colours": len(counts),
        "non_background_share": 1 - max(counts.values()) / n,
        "luminance_stddev": max(0.0, lum_sq / n - mean * mean) ** 0.5,
        "colours": sorted("#%02x%02x%02x" % tuple(c) for c in counts),
    }))


class DomIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg_ids, self.scripts, self.svg_depth, self.titles = [], 0, 0, 0
        self.findings, self.tables = [], {}
        self.finding = None  # the <li class="finding"> being read
        self.table, self.row, self.cell = None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svg_ids.append(a.get("id"))
            self.svg_depth += 1
        elif tag == "script":
            self.scripts += 1
        elif tag == "title" and self.svg_depth:
            self.titles += 1
        elif tag == "li" and a.get("class") == "finding":
            self.finding = {"attrs": a, "text": ""}
        elif tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = []
            self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg_depth -= 1
        elif tag == "li" and self.finding is not None:
            self.findings.append(self.finding)
            self.finding = None
        elif tag == "table":
            self.table = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.finding is not None:
            self.finding["text"] += data
        if self.cell is not None:
            self.cell += data


def dom(path):
    p = DomIds()
    p.feed(open(path, encoding="utf-8").read())
    print(json.dumps({"svg_ids": p.svg_ids, "scripts": p.scripts, "svg_titles": p.titles,
                      "findings": p.findings, "tables": p.tables}))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("elements", "png", "dom"):
        sys.exit(__doc__)
    {"elements": elements, "png": png, "dom": dom}[sys.argv[1]](sys.argv[2])
