#!/usr/bin/env python3
"""Writes the hostile and edge-case code packages of world-edge.json (committed; rerun after
editing). Deterministic: fixed timestamps and contents, so the zips only change with this file.

corrupt.zip    a local header followed by garbage, no central directory
bomb.zip       one 256 MiB entry of zeros that deflates to about 250 KiB
traversal.zip  entry names that climb out of the extraction directory, plus a package.json
encrypted.zip  a package-lock.json whose entries carry the "encrypted" flag (ZipCrypto header)
lockfiles.zip  package-lock.json v1, Pipfile.lock and poetry.lock (from src-lockfiles/)
"""
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEN = (2026, 1, 1, 0, 0, 0)


def info(name, compress=zipfile.ZIP_DEFLATED):
    zi = zipfile.ZipInfo(name, date_time=WHEN)
    zi.compress_type = compress
    zi.external_attr = 0o644 << 16
    return zi


def write(name, entries):
    path = os.path.join(HERE, name)
    with zipfile.ZipFile(path, "w") as z:
        for entry, data in entries:
            z.writestr(entry, data)
    print(name)
    return path


def corrupt():
    data = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5C21, 0xDEADBEEF, 4096, 8192, 12, 0)
    data += b"package.json" + bytes((i * 37 + 11) % 256 for i in range(512))
    with open(os.path.join(HERE, "corrupt.zip"), "wb") as out:
        out.write(data)
    print("corrupt.zip")


def bomb():
    path = os.path.join(HERE, "bomb.zip")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open(info("package-lock.json"), "w") as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(256):
                f.write(chunk)
    print("bomb.zip")


def traversal():
    write("traversal.zip", [
        (info("../../../../tmp/parapet-traversal"), b"escaped\n"),
        (info("/etc/cron.d/parapet"), b"* * * * * root true\n"),
        (info("node_modules/../../../evil/package.json"), b'{"name":"evil","version":"1.0.0"}\n'),
        (info("package.json"), b'{"name":"traversal","version":"1.0.0","dependencies":{"minimist":"1.2.0"}}\n'),
    ])


def encrypted():
    path = write("encrypted.zip", [
        (info("package-lock.json", zipfile.ZIP_STORED),
         bytes((i * 91 + 7) % 256 for i in range(12)) + b'{"lockfileVersion":3,"packages":{}}'),
    ])
    # Set general purpose bit 0 (encrypted) in every local and central header.
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = data.find(sig)
            while i >= 0:
                flags = struct.unpack_from("<H", data, i + off)[0] | 1
                struct.pack_into("<H", data, i + off, flags)
                i = data.find(sig, i + 4)
        f.seek(0)
        f.write(data)


def lockfiles():
    src = os.path.join(HERE, "src-lockfiles")
    write("lockfiles.zip", [(info(n), open(os.path.join(src, n), "rb").read())
                            for n in sorted(os.listdir(src))])


if __name__ == "__main__":
    corrupt()
    bomb()
    traversal()
    encrypted()
    lockfiles()
