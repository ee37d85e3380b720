#!/usr/bin/env python3
"""Generates an IMA measurement log for `tools/bench verify`.

  bench-verify-gen.py --kind ng|sig --entries N --out DIR [--pool 1000] [--key ima.key.pem --cert ima.crt.pem]

Writes into DIR:
  log.bin        binary_runtime_measurements (sha1 template digests, little-endian)
  log.ascii      the same log as ascii_runtime_measurements (what Keylime reads)
  pcr10.sha1     expected PCR 10, sha1 bank (Linux >= 5.8 per-bank extends), hex
  pcr10.sha256   expected PCR 10, sha256 bank, hex
  pcrs.sha1 / pcrs.sha256   the same as "PCR-10: hex" lines (evmctl --pcrs)
  policy.json    Keylime runtime policy: every (path, sha256 digest) for ng; for sig the
                 verification key (and no digests: signatures must carry every entry)
  allowlist.json (sig only) the same log's (path, digest) pairs as a digest allowlist, no keys:
                 the allowlist rate on the ima-sig log itself, which the warm signature cache
                 is compared with

Entries: no boot_aggregate (an offline check has no quoted PCRs 0-9 to check it against).
File digests come from a pool of --pool distinct random contents; each entry has its own path.
For sig, every pool digest is signed once with --key (RSA PKCS#1 v1.5 over the sha256 digest,
IMA signature v2, keyid = last 4 bytes of SHA-1(RSAPublicKey)), so every entry carries a real
signature over its own digest.
"""
import argparse
import base64
import hashlib
import json
import os
import struct

p = argparse.ArgumentParser()
p.add_argument("--kind", choices=["ng", "sig"], required=True)
p.add_argument("--entries", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--pool", type=int, default=1000)
p.add_argument("--key")
p.add_argument("--cert")
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)

rng_state = hashlib.sha256(b"signet-bench-%d" % a.seed).digest()
pool = []
for i in range(a.pool):
    pool.append(hashlib.sha256(rng_state + struct.pack("<I", i)).digest())

sigs = [None] * a.pool
keyid = None
spki_b64 = None
if a.kind == "sig":
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    pub = key.public_key()
    pkcs1 = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    keyid_bytes = hashlib.sha1(pkcs1).digest()[-4:]
    keyid = int.from_bytes(keyid_bytes, "big")
    spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    spki_b64 = base64.b64encode(spki).decode()
    for i, d in enumerate(pool):
        s = key.sign(d, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        # IMA xattr: type 3 (EVM_IMA_XATTR_DIGSIG), version 2, hash algo 4 (sha256), keyid, size (BE), sig
        sigs[i] = bytes([3, 2, 4]) + keyid_bytes + struct.pack(">H", len(s)) + s

template = b"ima-sig" if a.kind == "sig" else b"ima-ng"
pcr_sha1 = b"\0" * 20
pcr_sha256 = b"\0" * 32
digests = {}
u32 = struct.Struct("<I").pack
dirs = ["usr/bin", "usr/lib/x86_64-linux-gnu", "usr/libexec/bench", "opt/app/lib", "usr/sbin"]
with open(os.path.join(a.out, "log.bin"), "wb") as binf, open(os.path.join(a.out, "log.ascii"), "w") as asc:
    for n in range(a.entries):
        k = (n * 7919) % a.pool
        d = pool[k]
        path = "/%s/f%07d-%04d" % (dirs[n % len(dirs)], n, k)
        dng = b"sha256:\0" + d
        nng = path.encode() + b"\0"
        fields = [dng, nng]
        if a.kind == "sig":
            fields.append(sigs[k])
        data = b"".join(u32(len(f)) + f for f in fields)
        t1 = hashlib.sha1(data).digest()
        t256 = hashlib.sha256(data).digest()
        binf.write(u32(10) + t1 + u32(len(template)) + template + u32(len(data)) + data)
        pcr_sha1 = hashlib.sha1(pcr_sha1 + t1).digest()
        pcr_sha256 = hashlib.sha256(pcr_sha256 + t256).digest()
        line = "10 %s %s sha256:%s %s" % (t1.hex(), template.decode(), d.hex(), path)
        if a.kind == "sig":
            line += " " + sigs[k].hex()
        asc.write(line + "\n")
        digests[path] = [d.hex()]

for bank, v in (("sha1", pcr_sha1), ("sha256", pcr_sha256)):
    with open(os.path.join(a.out, "pcr10." + bank), "w") as f:
        f.write(v.hex() + "\n")
    with open(os.path.join(a.out, "pcrs." + bank), "w") as f:
        for i in range(24):
            f.write("PCR-%02d: %s\n" % (i, (v if i == 10 else b"\0" * len(v)).hex().upper()))

def write_policy(name, digests, verification_keys):
    policy = {
        "meta": {"version": 1, "generator": 3, "timestamp": "2026-11-27T00:00:00Z"},
        "release": 0,
        "digests": digests,
        "excludes": [],
        "keyrings": {},
        "ima": {"ignored_keyrings": [], "log_hash_alg": "sha1", "dm_policy": None},
        "ima-buf": {},
        "verification-keys": verification_keys,
    }
    with open(os.path.join(a.out, name), "w") as f:
        json.dump(policy, f)


if a.kind == "sig":
    write_policy("policy.json", {}, json.dumps({"keyids": [keyid], "pubkeys": [spki_b64]}))
    write_policy("allowlist.json", digests, "")
else:
    write_policy("policy.json", digests, "")
