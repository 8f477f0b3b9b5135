#!/usr/bin/python3
"""Writes the JPEG fixtures of internal/camera's splitter tests with
Pillow/libjpeg (Debian's python3-pil), an independent JPEG producer:

  progressive.jpg  progressive JPEG: several scans, DHT segments between them
  exif_thumb.jpg   baseline JPEG with an APP1 EXIF block that embeds a JPEG
                   thumbnail (its own SOI...EOI inside the segment), as
                   cameras and phones write them
  plain.jpg        baseline 4:2:0 JPEG, as rpicam-vid/ffmpeg MJPEG frames are

Run: /usr/bin/python3 internal/camera/testdata/make_fixtures.py
"""
import io
import os
import struct

from PIL import Image

os.chdir(os.path.dirname(os.path.abspath(__file__)))


def picture(w, h):
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 255) // w, (y * 255) // h, ((x ^ y) * 7) & 255)
    return im


def jpeg(im, **kw):
    b = io.BytesIO()
    im.save(b, "JPEG", **kw)
    return b.getvalue()


main = picture(96, 64)
with open("plain.jpg", "wb") as f:
    f.write(jpeg(main, quality=85))
with open("progressive.jpg", "wb") as f:
    f.write(jpeg(main, quality=85, progressive=True))

# EXIF with a thumbnail: TIFF header, an empty IFD0 pointing at IFD1, and
# IFD1 with JPEGInterchangeFormat (0x0201) / ...Length (0x0202).
thumb = jpeg(picture(16, 12), quality=70)
ifd1_off = 8 + 2 + 4  # after IFD0 (no entries, next-IFD pointer)
thumb_off = ifd1_off + 2 + 2 * 12 + 4
tiff = b"II*\x00" + struct.pack("<I", 8)
tiff += struct.pack("<H", 0) + struct.pack("<I", ifd1_off)
tiff += struct.pack("<H", 2)
tiff += struct.pack("<HHII", 0x0201, 4, 1, thumb_off)
tiff += struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
tiff += struct.pack("<I", 0)
tiff += thumb
app1 = b"Exif\x00\x00" + tiff
seg = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
body = jpeg(main, quality=85)
assert body[:2] == b"\xff\xd8"
with open("exif_thumb.jpg", "wb") as f:
    f.write(body[:2] + seg + body[2:])
