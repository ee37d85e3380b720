#!/usr/bin/env python3
"""Writes the measurement-log fixtures of this folder, independently of the
Swift code under test (hashlib + struct only), following the kernel's layout:
security/integrity/ima/ima_fs.c ima_measurements_show / ima_ascii_measurements_show,
ima_template_lib.c (field formats), ima_crypto.c (template hash, boot aggregate).

Run from this folder: python3 make_fixtures.py
"""
import hashlib
import struct

SIG = bytes.fromhex(  # evmctl ima_sign, RSA-2048, keyid ebad2e13 (IMAXattrTests)
    "030204ebad2e130100322d2a6bb9b1f7a4218b707d23e004a6f3f9ab99e11057510d7b80bc857bf692a2f485b9b4874af3173543b41a3eca828cb537485e97bfefc9cf18e3ca224aa6ba1d116e9876f0d5cc3352f11016a1953f0d9f6debf1fccd8b3047a6fa1e537cb2403ad0c8f9cad02ac87c8c043a33ee72d31cdf73e9e8c5457b530780cf62046a147e58cf09d6d33e7a011cf06b8c6e3d5b94e2f94f18158f099ded2c93275c87362d59de3b1fe8e33ea4608d4a3d2dad4f2237da21d6d49c4979c1595078755296a6b0c019eaeb7b5ffe5740dab2cfc25f026307fd81d2f5b4e64de3064aa4dfc84e4e18c9e6569056e038bb3af43f395921b67919c7fa8e3877f53f325e9b")

BANKS = ["sha1", "sha256"]
# Firmware PCRs 0-9 for the boot aggregate: PCR i = bytes of value i+1.
BOOT_PCRS = {bank: [bytes([i + 1]) * hashlib.new(bank).digest_size for i in range(10)] for bank in BANKS}


def boot_aggregate(bank):
    n = 8 if bank == "sha1" else 10
    return hashlib.new(bank, b"".join(BOOT_PCRS[bank][:n])).digest()


def dng(algo, digest):
    return algo.encode() + b":\0" + digest


def nng(name):
    return name.replace(b" ", b"_") + b"\0"


def ascii_digest(field):
    prefix, digest = field.split(b"\0", 1)
    return (prefix if prefix != b":" else b"") + digest.hex().encode()


def make_entry(template, fields, violation=False, pcr=10):
    """Returns (binary bytes, ascii line, {bank: extend value})."""
    if template == b"ima":
        d, n = fields
        data = d + struct.pack("<I", len(n)) + n
        hashed = [d + n + b"\0" * (256 - len(n))]
    else:
        data = b"".join(struct.pack("<I", len(f)) + f for f in fields)
        hashed = [data]
    sha1 = hashlib.sha1(b"".join(hashed)).digest()
    stored = b"\0" * 20 if violation else sha1
    binary = struct.pack("<I", pcr) + stored + struct.pack("<I", len(template)) + template
    if template != b"ima":
        binary += struct.pack("<I", len(data))
    binary += data
    # ASCII: "%2d " pcr, digest, name, then " " + field for each field.
    texts = []
    if template == b"ima":
        texts = [fields[0].hex().encode(), fields[1]]
    else:
        kinds = {b"ima-ng": "dn", b"ima-sig": "dnx", b"ima-buf": "dnx"}[template]
        for kind, f in zip(kinds, fields):
            if len(f) == 0:
                texts.append(b"")
            elif kind == "d":
                texts.append(ascii_digest(f))
            elif kind == "n":
                texts.append(f.rstrip(b"\0"))
            else:
                texts.append(f.hex().encode())
    line = b"%2d " % pcr + stored.hex().encode() + b" " + template + b"".join(b" " + t for t in texts) + b"\n"
    extend = {}
    for bank in BANKS:
        size = hashlib.new(bank).digest_size
        extend[bank] = b"\xff" * size if violation else hashlib.new(bank, b"".join(hashed)).digest()
    padded = {}
    for bank in BANKS:
        size = hashlib.new(bank).digest_size
        base = b"\xff" * 20 if violation else sha1
        padded[bank] = base + b"\0" * (size - 20)
    return binary, line, extend, padded


def write_log(stem, entries):
    binary, ascii_text = b"", b""
    pcr = {bank: b"\0" * hashlib.new(bank).digest_size for bank in BANKS}
    padded_pcr = dict(pcr)
    for template, fields, violation in entries:
        b, line, extend, padded = make_entry(template, fields, violation)
        binary += b
        ascii_text += line
        for bank in BANKS:
            pcr[bank] = hashlib.new(bank, pcr[bank] + extend[bank]).digest()
            padded_pcr[bank] = hashlib.new(bank, padded_pcr[bank] + padded[bank]).digest()
    open(stem + ".bin", "wb").write(binary)
    open(stem + ".ascii", "wb").write(ascii_text)
    for bank in BANKS:
        # evmctl --pcrs format: "PCR-NN <hex>" lines, PCR-00 up to PCR-10 in order.
        lines = []
        for i in range(11):
            value = pcr[bank] if i == 10 else b"\0" * hashlib.new(bank).digest_size
            lines.append("PCR-%02d %s\n" % (i, value.hex()))
        open("%s.pcrs-%s" % (stem, bank), "w").write("".join(lines))
        open("%s.padded-pcr10-%s" % (stem, bank), "w").write(padded_pcr[bank].hex() + "\n")


def main():
    ima_ng = [
        (b"ima-ng", [dng("sha256", boot_aggregate("sha256")), nng(b"boot_aggregate")], False),
        (b"ima-ng", [dng("sha256", hashlib.sha256(b"#!/bin/true\n").digest()), nng(b"/usr/bin/true")], False),
        (b"ima-sig", [dng("sha256", bytes(range(32))), nng(b"/usr/lib/x86_64-linux-gnu/libc.so.6"), SIG], False),
        (b"ima-sig", [dng("sha256", b"\x11" * 32), nng(b"/etc/my file.conf"), b""], False),
        (b"ima-ng", [dng("sha256", b"\0" * 32), nng(b"/var/log/open-writers.log")], True),
        (b"ima-buf", [dng("sha256", hashlib.sha256(b"root=/dev/vda1 ro").digest()), nng(b"kexec-cmdline"),
                      b"root=/dev/vda1 ro"], False),
        (b"ima-ng", [dng("sha512", b"\x42" * 64), nng(b"/usr/sbin/init")], False),
    ]
    write_log("ima-ng-sig", ima_ng)

    legacy = [
        (b"ima", [hashlib.sha1(b"".join(BOOT_PCRS["sha1"][:8])).digest(), b"boot_aggregate"], False),
        (b"ima", [hashlib.sha1(b"x").digest(), b"/usr/bin/bash"], False),
        (b"ima", [b"\0" * 20, b"/tmp/tomtou"], True),
        (b"ima", [b"\x5a" * 20, b"/" + b"a" * 254], False),
    ]
    write_log("ima-legacy", legacy)

    for bank in BANKS:
        lines = "".join("PCR-%02d %s\n" % (i, BOOT_PCRS[bank][i].hex()) for i in range(10))
        open("boot-pcrs.%s" % bank, "w").write(lines)
        open("boot-aggregate.%s" % bank, "w").write(boot_aggregate(bank).hex() + "\n")


main()
