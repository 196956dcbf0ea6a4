#!/bin/sh
# Regenerates the test deployment packages of tests/unit/posture/{zip,advisory}_test.c with
# python3's zipfile, then patches headers by hand for the hostile cases. The generated zips are
# committed, so the tests never run this. Deterministic: fixed timestamps, no randomness.
set -eu
cd "$(dirname "$0")"
exec python3 - <<'PY'
import io, json, struct, zipfile, zlib

T = (2024, 1, 2, 3, 4, 6)

def build(files, comment=b"", method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, T)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
        z.comment = comment
    return bytearray(buf.getvalue())

def save(name, data):
    with open(name, "wb") as f:
        f.write(bytes(data))

def headers(data, name):
    """Offsets of the local and central headers of entry `name`."""
    n = name.encode()
    cen = data.find(b"PK\x01\x02")
    while cen >= 0:
        nl = struct.unpack_from("<H", data, cen + 28)[0]
        if bytes(data[cen + 46:cen + 46 + nl]) == n:
            return struct.unpack_from("<I", data, cen + 42)[0], cen
        cen = data.find(b"PK\x01\x02", cen + 4)
    raise KeyError(name)

def js(o):
    return json.dumps(o, indent=2).encode()

# ---- npm ----
lock_v3 = js({
    "name": "orders", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
    "packages": {
        "": {"name": "orders", "version": "1.0.0",
             "dependencies": {"lodash": "^4.17.11", "event-stream": "3.3.6", "minimist": "^1.2.5"}},
        "node_modules/lodash": {"version": "4.17.11", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.11.tgz"},
        "node_modules/minimist": {"version": "1.2.5"},
        "node_modules/event-stream": {"version": "3.3.6"},
        "node_modules/event-stream/node_modules/flatmap-stream": {"version": "0.1.1"},
        "node_modules/@aws-sdk/client-s3": {"version": "3.400.0"},
        "node_modules/string-width-cjs": {"name": "string-width", "version": "4.2.3"},
        "node_modules/jest": {"version": "29.7.0", "dev": True},
        "packages/shared": {"name": "shared", "version": "0.0.1"},
        "node_modules/shared": {"resolved": "packages/shared", "link": True},
    }})
node_v3 = [
    ("index.js", b"exports.handler = async () => ({ statusCode: 200 });\n"),
    ("package.json", js({"name": "orders", "version": "1.0.0",
                         "dependencies": {"lodash": "^4.17.11", "event-stream": "3.3.6"}})),
    ("package-lock.json", lock_v3),
    ("node_modules/", b""),
    ("node_modules/lodash/package.json", js({"name": "lodash", "version": "4.17.11"})),
    ("node_modules/lodash/lodash.js", b"/* lodash */\n" * 200),
    ("node_modules/minimist/package-lock.json", js({"lockfileVersion": 1, "dependencies": {"tape": {"version": "4.0.0"}}})),
]
save("node-lock-v3.zip", build(node_v3, comment=b"built by make.sh; PK comment"))

lock_v1 = js({
    "name": "legacy", "version": "0.1.0", "lockfileVersion": 1, "requires": True,
    "dependencies": {
        "minimist": {"version": "0.0.8"},
        "mkdirp": {"version": "0.5.1", "requires": {"minimist": "0.0.8"},
                   "dependencies": {"minimist": {"version": "1.2.0"}}},
        "lodash": {"version": "4.17.21"},
        "my-alias": {"version": "npm:node-serialize@0.0.4"},
        "mocha": {"version": "10.2.0", "dev": True},
        "local-thing": {"version": "file:../local-thing"},
    }})
save("node-lock-v1.zip", build([("app/package-lock.json", lock_v1), ("app/handler.js", b"//\n")]))

save("node-installed.zip", build([
    ("package.json", js({"name": "svc", "dependencies": {"lodash": "^4.17.0"}})),
    ("node_modules/lodash/package.json", js({"name": "lodash", "version": "4.17.20"})),
    ("node_modules/@scope/util/package.json", js({"name": "@scope/util", "version": "2.0.0-beta.1"})),
    ("node_modules/mkdirp/node_modules/minimist/package.json", js({"name": "minimist", "version": "1.2.5"})),
    ("node_modules/lodash/fp/package.json", js({"main": "../fp.js"})),
    ("node_modules/minimist/package-lock.json", js({"lockfileVersion": 2, "packages": {"node_modules/tape": {"version": "4.0.0"}}})),
    ("node_modules/broken/package.json", b"{\"name\": \"broken\", "),
]))

save("node-pkgjson.zip", build([
    ("package.json", js({"name": "dvsa-order-manager", "version": "1.0.0",
                         "dependencies": {"node-serialize": "0.0.4", "node-jose": "2.2.0",
                                          "lodash": "^4.17.4", "aws-sdk": "*",
                                          "minimist": "=1.2.0", "left-pad": "v1.3.0"},
                         "devDependencies": {"mocha": "10.2.0"}})),
]))

# a lock file that cannot be parsed: npm's hidden lock, else the installed packages stand in
hidden = js({"lockfileVersion": 3, "packages": {"node_modules/lodash": {"version": "4.17.11"}}})
installed = js({"name": "minimist", "version": "1.2.5"})
save("node-badlock.zip", build([
    ("package-lock.json", b"{\"lockfileVersion\": 3, \"packages\": {"),
    ("node_modules/.package-lock.json", hidden),
    ("node_modules/minimist/package.json", installed),
]))
save("node-badlocks.zip", build([
    ("package-lock.json", b"{\"lockfileVersion\": 3, \"packages\": {"),
    ("node_modules/.package-lock.json", b"not json"),
    ("node_modules/minimist/package.json", installed),
    ("package.json", js({"dependencies": {"minimist": "^1.2.0"}})),
]))

# ---- Python ----
requirements = b"""# production pins
requests==2.25.1 \\
    --hash=sha256:c210084e36a42ae6b9219e00e48287def368a26d03a048ddad7bfee44f75871e
PyYAML == 5.3   # full_load
urllib3[secure]>=1.26,<2 ; python_version >= "3.7"
Jinja2===2.10
boto3~=1.28
-r other-requirements.txt
--index-url https://pypi.org/simple
-e git+https://github.com/example/x.git#egg=x
https://example.com/pkg-1.0.tar.gz
./vendored/pkg
six==1.*
Django (==3.2.1)
zope.interface==5.0.0; sys_platform == "linux"
"""
metadata = b"Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.5\nSummary: HTTP library\n\nName: not-this\n"
pipfile = js({"_meta": {"hash": {"sha256": "00"}},
              "default": {"jinja2": {"hashes": [], "version": "==3.1.2"},
                          "some-git": {"git": "https://example.com/x.git"}},
              "develop": {"pyyaml": {"version": "==5.1"}}})
poetry = b"""# This file is automatically @generated by Poetry 1.7.1 and should not be changed by hand.

[[package]]
name = "requests"
version = "2.28.0"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.7, <4"
files = [
    {file = "requests-2.28.0-py3-none-any.whl", hash = "sha256:bc7861137fbce630f17b03d3ad02ad0bf978c844f3536d0edda6499dafce2b6f"},
    {file = "requests-2.28.0.tar.gz", hash = "sha256:d568723a7ebd25875d8d1eaf5dfa068cd2fc8194b2e483d7b1f7c81918dbec6b"},
]

[package.dependencies]
certifi = ">=2017.4.17"
charset-normalizer = ">=2,<3"
idna = ">=2.5,<4"
urllib3 = {version = ">=1.21.1,<1.27", markers = "python_version >= \\"3.7\\""}

[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[[package]]
name = 'Jinja2'
version = "2.11.3"
description = '''multi
line'''
optional = true

[metadata]
lock-version = "2.0"
python-versions = "^3.9"
content-hash = "abc"
"""
save("python.zip", build([
    ("requirements.txt", requirements),
    ("urllib3-1.26.5.dist-info/METADATA", metadata),
    ("urllib3-1.26.5.dist-info/RECORD", b"urllib3/__init__.py,,\n"),
    ("svc/Pipfile.lock", pipfile),
    ("svc/poetry.lock", poetry),
    ("lambda_function.py", b"def handler(e, c):\n    return 1\n"),
]))

# ---- hostile ----
good = build(node_v3, comment=b"x")
save("truncated.zip", good[: len(good) * 6 // 10])
save("empty.zip", b"")
save("not-a-zip.zip", b"this is not a zip file at all, just text\n" * 10)

z = build([("package.json", js({"name": "x", "dependencies": {"node-serialize": "0.0.4"}})),
           ("requirements.txt", b"requests==2.25.1\n")], method=zipfile.ZIP_STORED)
loc, cen = headers(z, "package.json")
data_off = loc + 30 + len("package.json")
z[data_off + 5] ^= 0x20
save("crc.zip", z)

z = build([("package-lock.json", lock_v3), ("requirements.txt", b"requests==2.25.1\n")])
loc, cen = headers(z, "package-lock.json")
for off in (loc + 6, cen + 8):
    struct.pack_into("<H", z, off, struct.unpack_from("<H", z, off)[0] | 1)
save("encrypted.zip", z)

save("bomb.zip", build([("package-lock.json", b"{" + b" " * (10 << 20) + b"}"),
                        ("requirements.txt", b"requests==2.25.1\n")]))

z = build([("requirements.txt", b"requests==2.25.1\n"), ("Pipfile.lock", pipfile)])
loc, cen = headers(z, "requirements.txt")
struct.pack_into("<I", z, loc + 22, 3_000_000_000)
struct.pack_into("<I", z, cen + 24, 3_000_000_000)
save("huge.zip", z)

z = build([("requirements.txt", b"requests==2.25.1\n" * 50), ("poetry.lock", poetry)])
loc, cen = headers(z, "requirements.txt")
struct.pack_into("<I", z, loc + 22, 100)
struct.pack_into("<I", z, cen + 24, 100)
save("lying-size.zip", z)

z = build([("../../evil/requirements.txt", b"requests==2.25.1\n"),
           ("/abs/requirements.txt", b"requests==2.25.1\n"),
           ("dir\\..\\requirements.txt", b"requests==2.25.1\n"),
           ("ok/../../requirements.txt", b"requests==2.25.1\n"),
           ("C:/requirements.txt", b"requests==2.25.1\n"),
           ("nul#/requirements.txt", b"requests==2.25.1\n"),
           ("safe/requirements.txt", b"pyyaml==5.3\n"),
           ("safe/..hidden/requirements.txt", b"jinja2==2.10\n")])
# zipfile cuts names at a NUL: write "#" and patch it to NUL in both headers
i = 0
while True:
    i = z.find(b"nul#/", i)
    if i < 0:
        break
    z[i + 3] = 0
    i += 5
save("traversal.zip", z)

z = build([("requirements.txt", b"requests==2.25.1\n"), ("package.json", js({"name": "a"}))])
loc, cen = headers(z, "requirements.txt")
z[loc + 30] = ord("R")  # local name "Requirements.txt"
save("name-mismatch.zip", z)

# ZIP64 by hand: one stored entry whose sizes and offset live in the ZIP64 extra field, and the
# ZIP64 end of central directory record and locator (APPNOTE 4.3.14, 4.3.15, 4.5.3).
name = b"requirements.txt"
body = b"urllib3==1.26.5\nrequests==2.31.0\n"
crc = zlib.crc32(body)
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                    len(name), 20) + name + struct.pack("<HHQQ", 1, 16, len(body), len(body)) + body
extra = struct.pack("<HHQQQ", 1, 24, len(body), len(body), 0)
central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                      0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
cd_off = len(local)
eocd64_off = cd_off + len(central)
eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, len(central), cd_off)
loc64 = struct.pack("<IIQI", 0x07064B50, 0, eocd64_off, 1)
eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
save("zip64.zip", local + central + eocd64 + loc64 + eocd)
PY
