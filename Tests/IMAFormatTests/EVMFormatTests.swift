import XCTest
@testable import IMAFormat

/// The portable EVM input (xattr order, h_misc layouts) and the security.evm
/// value, against the kernel's definitions (security/integrity/evm/evm_crypto.c,
/// evm_main.c) and bytes evmctl 1.4 printed for the same file.
final class EVMFormatTests: XCTestCase {
    let ima: [UInt8] = [0x03, 0x02, 0x04, 0xcb, 0x4c, 0x0c, 0x42, 0x00, 0x01, 0xaa]

    func testMiscLayout64IsWhatEvmctlHashes() throws {
        // evmctl -v sign --portable on a 0644 file owned by root printed:
        // hmac_misc (24): 0000000000000000000000000000000000000000a4810000
        let input = try EVMPortableInput(values: [.ima: ima], uid: 0, gid: 0, mode: 0o100644)
        XCTAssertEqual(Hex.encode(input.miscBytes()), "0000000000000000000000000000000000000000a4810000")
        XCTAssertEqual(input.miscBytes().count, 24)
    }

    func testMiscLayoutFieldsAndPadding() throws {
        let input = try EVMPortableInput(values: [.ima: ima], uid: 0x01020304, gid: 0x0a0b0c0d, mode: 0o104755)
        // ino (8) = 0, generation (4) = 0, uid, gid little-endian, mode u16, 2 bytes padding
        XCTAssertEqual(Hex.encode(input.miscBytes()), "0000000000000000" + "00000000" + "04030201" + "0d0c0b0a" + "ed89" + "0000")
        let i32 = try EVMPortableInput(values: [.ima: ima], uid: 0x01020304, gid: 0x0a0b0c0d, mode: 0o104755, layout: .ilp32)
        XCTAssertEqual(Hex.encode(i32.miscBytes()), "00000000" + "00000000" + "04030201" + "0d0c0b0a" + "ed89" + "0000")
        XCTAssertEqual(i32.miscBytes().count, 20)
        let be = try EVMPortableInput(values: [.ima: ima], uid: 1, gid: 2, mode: 0o100755, byteOrder: .big)
        XCTAssertEqual(Hex.encode(be.miscBytes()), "0000000000000000" + "00000000" + "00000001" + "00000002" + "81ed" + "0000")
    }

    func testXattrsAreHashedInKernelOrderOnlyWhenProtected() throws {
        let caps: [UInt8] = [1, 0, 0, 2] + [UInt8](repeating: 0, count: 16)
        let label = try EVMPortableInput.selinuxValue("system_u:object_r:bin_t:s0")
        let values: [EVMProtectedXattr: [UInt8]] = [.capability: caps, .ima: ima, .selinux: label, .smack: Array("_".utf8), .apparmor: Array("x".utf8)]
        let debian = try EVMPortableInput(values: values, uid: 0, gid: 0, mode: 0o100755)
        XCTAssertEqual(debian.xattrs.map(\.name), [.selinux, .apparmor, .ima, .capability])
        XCTAssertEqual(debian.hashedBytes(), label + Array("x".utf8) + ima + caps + debian.miscBytes())
        let evmctl = try EVMPortableInput(values: values, uid: 0, gid: 0, mode: 0o100755, target: .evmctlDefault)
        XCTAssertEqual(evmctl.xattrs.map(\.name), [.selinux, .smack, .apparmor, .ima, .capability])
        let smackAll = EVMTargetKernel(selinux: false, smack: true, extraSmackXattrs: true, apparmor: false)
        XCTAssertEqual(smackAll.protected, [.smack, .smackExec, .smackTransmute, .smackMmap, .ima, .capability])
    }

    func testPortableInputNeedsSecurityIMA() {
        XCTAssertThrowsError(try EVMPortableInput(values: [.capability: [1]], uid: 0, gid: 0, mode: 0o100755)) {
            XCTAssertEqual(($0 as? EVMError)?.code, .imaMissing)
            XCTAssertEqual(($0 as? EVMError)?.field, "security.ima")
        }
        XCTAssertThrowsError(try EVMPortableInput(values: [.ima: []], uid: 0, gid: 0, mode: 0o100755))
    }

    func testBadInputIsRefusedWithTheField() {
        XCTAssertThrowsError(try EVMPortableInput(values: [.ima: ima], uid: 0, gid: 0, mode: 0x1_0000)) {
            XCTAssertEqual(($0 as? EVMError)?.field, "h_misc.mode")
        }
        XCTAssertThrowsError(try EVMPortableInput(values: [.ima: ima, .selinux: [UInt8](repeating: 0x61, count: 65537)], uid: 0, gid: 0, mode: 0o100644)) {
            XCTAssertEqual(($0 as? EVMError)?.code, .valueTooLong)
        }
        for bad in ["", "bin_t", "a:b\0:c"] {
            XCTAssertThrowsError(try EVMPortableInput.selinuxValue(bad), bad) { XCTAssertEqual(($0 as? EVMError)?.code, .invalidOption) }
        }
        XCTAssertEqual(try EVMPortableInput.selinuxValue("u:r:t:s0"), Array("u:r:t:s0".utf8) + [0])
        XCTAssertEqual(EVMPortableInput.selinuxLabel(Array("u:r:t:s0\0".utf8)), "u:r:t:s0")
    }

    func testSecurityEVMValueRoundTrips() throws {
        let sig = Array(repeating: UInt8(0x5a), count: 256)
        let value = EVMXattr.portable(hashAlgorithm: .sha256, keyID: 0xcb4c0c42, signature: sig)
        let bytes = value.encoded()
        XCTAssertEqual(Array(bytes.prefix(9)), [0x05, 0x02, 0x04, 0xcb, 0x4c, 0x0c, 0x42, 0x01, 0x00])
        XCTAssertEqual(try EVMXattr(bytes: bytes), value)
        guard case .portableSignature(let parsed) = try EVMXattr(bytes: bytes) else { return XCTFail("not portable") }
        XCTAssertEqual(parsed.kind, .evmPortable)
        XCTAssertEqual(parsed.signature, sig)
        // 0x03 (non-portable signature) and 0x02 (HMAC) parse too, and re-encode exactly.
        var three = bytes; three[0] = 0x03
        XCTAssertEqual(try EVMXattr(bytes: three).encoded(), three)
        let hmac = [0x02] + [UInt8](repeating: 7, count: 20)
        XCTAssertEqual(try EVMXattr(bytes: hmac), .hmac([UInt8](repeating: 7, count: 20)))
    }

    func testMalformedSecurityEVMNamesTheField() {
        let good = EVMXattr.portable(hashAlgorithm: .sha256, keyID: 1, signature: [1, 2, 3]).encoded()
        let cases: [([UInt8], String)] = [
            ([], "type"),
            ([0x04, 0x04] + [UInt8](repeating: 0, count: 32), "type"),     // an IMA digest is no EVM value
            ([0x02, 1, 2], "digest"),                                       // short HMAC
            (Array(good.prefix(5)), "keyid"),                               // header cut
            (good + [9], "sig_size"),                                       // trailing byte
            ([0x05, 0x03] + Array(good.dropFirst(2)), "version"),           // v3 is not an EVM signature
            ([0x05, 0x02, 0x63] + Array(good.dropFirst(3)), "hash_algo"),
            ([0x05, 0x02, 0x04, 0, 0, 0, 1, 0, 0], "sig_size"),             // empty signature
        ]
        for (bytes, field) in cases {
            XCTAssertThrowsError(try EVMXattr(bytes: bytes), Hex.encode(bytes)) {
                guard let e = $0 as? EVMError else { return XCTFail("untyped error \($0)") }
                XCTAssertEqual(e.code, .malformed)
                XCTAssertTrue(e.field.hasSuffix(field), "\(Hex.encode(bytes)): field \(e.field), expected \(field)")
            }
        }
    }

    func testFuzzPropertyOnRandomAndMutatedInput() {
        var rng = SystemRandomNumberGenerator()
        let seed = EVMXattr.portable(hashAlgorithm: .sha512, keyID: 0xdeadbeef, signature: Array(repeating: 1, count: 72)).encoded()
        for i in 0..<5000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if !bytes.isEmpty { bytes[0] = [0x02, 0x03, 0x05, 0x06][i % 4] }
            } else {
                bytes = seed
                for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            }
            XCTAssertTrue(EVMXattr.roundTrips(bytes), Hex.encode(bytes))
        }
    }
}
