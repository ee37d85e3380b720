import XCTest
@testable import IMAFormat

final class IMAXattrTests: XCTestCase {
    /// A security.ima written by `evmctl ima_sign --key k.pem -a sha256` (RSA-2048, keyid ebad2e13).
    static let evmctlSignature = Hex.decode(
        "030204ebad2e130100322d2a6bb9b1f7a4218b707d23e004a6f3f9ab99e11057510d7b80bc857bf692a2f485b9b4874af3173543b41a3eca828cb537485e97bfefc9cf18e3ca224aa6ba1d116e9876f0d5cc3352f11016a1953f0d9f6debf1fccd8b3047a6fa1e537cb2403ad0c8f9cad02ac87c8c043a33ee72d31cdf73e9e8c5457b530780cf62046a147e58cf09d6d33e7a011cf06b8c6e3d5b94e2f94f18158f099ded2c93275c87362d59de3b1fe8e33ea4608d4a3d2dad4f2237da21d6d49c4979c1595078755296a6b0c019eaeb7b5ffe5740dab2cfc25f026307fd81d2f5b4e64de3064aa4dfc84e4e18c9e6569056e038bb3af43f395921b67919c7fa8e3877f53f325e9b")!

    func testDecodesEvmctlSignatureAndReencodesIdentically() throws {
        let value = try IMAXattr(bytes: Self.evmctlSignature)
        guard case .signature(let sig) = value else { return XCTFail("expected a signature, got \(value)") }
        XCTAssertEqual(sig.kind, .ima)
        XCTAssertEqual(sig.version, 2)
        XCTAssertEqual(sig.hashAlgorithm, .sha256)
        XCTAssertEqual(sig.keyIDHex, "ebad2e13")
        XCTAssertEqual(sig.signature.count, 256)
        XCTAssertEqual(value.encoded(), Self.evmctlSignature)
    }

    func testDigestForms() throws {
        let sha256 = [UInt8](repeating: 0xab, count: 32)
        let ng = try IMAXattr(bytes: [0x04, 4] + sha256)
        XCTAssertEqual(ng, .digest(.sha256, sha256))
        XCTAssertEqual(ng.encoded(), [0x04, 4] + sha256)
        let legacy = try IMAXattr(bytes: [0x01] + [UInt8](repeating: 1, count: 20))
        XCTAssertEqual(legacy.typeByte, 0x01)
        XCTAssertThrowsError(try IMAXattr(bytes: [0x04, 4] + sha256.dropLast())) { error in
            let e = error as! IMAFormatError
            XCTAssertEqual(e.code, .truncated)
            XCTAssertEqual(e.field, "digest")
            XCTAssertEqual(e.offset, 2)
        }
        XCTAssertThrowsError(try IMAXattr(bytes: [0x04, 4] + sha256 + [0])) { error in
            XCTAssertEqual((error as! IMAFormatError).code, .lengthMismatch)
        }
        XCTAssertThrowsError(try IMAXattr(bytes: [0x04, 99] + sha256)) { error in
            let e = error as! IMAFormatError
            XCTAssertEqual(e.code, .unknownHashAlgorithm)
            XCTAssertEqual(e.offset, 1)
        }
    }

    func testEveryTruncationOfTheHeaderNamesItsField() {
        let fields = ["type", "version", "hash_algo", "keyid", "keyid", "keyid", "keyid", "sig_size", "sig_size"]
        XCTAssertThrowsError(try IMAXattr(bytes: [])) { XCTAssertEqual(($0 as! IMAFormatError).field, "type") }
        for length in 1..<IMASignature.headerLength {
            XCTAssertThrowsError(try IMAXattr(bytes: Self.evmctlSignature.prefix(length))) { error in
                let e = error as! IMAFormatError
                XCTAssertEqual(e.code, .truncated, "length \(length)")
                XCTAssertEqual(e.field, fields[length], "length \(length)")
                XCTAssertEqual(e.offset, length)
            }
        }
    }

    func testSignatureSizeMustMatchWhatFollows() {
        // One byte short, one byte extra, and a hostile 0xffff size.
        for bytes in [Array(Self.evmctlSignature.dropLast()), Self.evmctlSignature + [0],
                      Array(Self.evmctlSignature.prefix(7)) + [0xff, 0xff] + [1, 2, 3]] {
            XCTAssertThrowsError(try IMAXattr(bytes: bytes)) { error in
                let e = error as! IMAFormatError
                XCTAssertEqual(e.code, .lengthMismatch)
                XCTAssertEqual(e.field, "sig_size")
                XCTAssertEqual(e.offset, 7)
            }
        }
        XCTAssertThrowsError(try IMAXattr(bytes: Array(Self.evmctlSignature.prefix(7)) + [0, 0])) { error in
            XCTAssertEqual((error as! IMAFormatError).code, .invalidValue)
        }
    }

    func testUnknownTypeVersionAndAlgorithm() {
        XCTAssertThrowsError(try IMAXattr(bytes: [0x07, 1, 2])) { error in
            let e = error as! IMAFormatError
            XCTAssertEqual(e.code, .unknownType)
            XCTAssertTrue(e.description.contains("0x07"), e.description)
        }
        var v1 = Self.evmctlSignature
        v1[1] = 1
        XCTAssertThrowsError(try IMAXattr(bytes: v1)) { XCTAssertEqual(($0 as! IMAFormatError).code, .unsupportedVersion) }
        var sm3 = Self.evmctlSignature
        sm3[2] = 17
        XCTAssertThrowsError(try IMAXattr(bytes: sm3)) { error in
            let e = error as! IMAFormatError
            XCTAssertEqual(e.code, .unknownHashAlgorithm)
            XCTAssertEqual(e.field, "hash_algo")
        }
        // fs-verity signatures exist only as version 3.
        var verity = Self.evmctlSignature
        verity[0] = 0x06
        XCTAssertThrowsError(try IMAXattr(bytes: verity)) { XCTAssertEqual(($0 as! IMAFormatError).code, .unsupportedVersion) }
    }

    func testEncodeDecodeRoundTripForAllAlgorithmsAndSizes() throws {
        for algorithm in HashAlgorithm.allCases {
            for size in [1, 71, 72, 256, 512, 65535] {
                let sig = IMASignature(hashAlgorithm: algorithm, keyID: 0x01020304,
                                       signature: (0..<size).map { UInt8(truncatingIfNeeded: $0) })
                XCTAssertEqual(try IMASignature(bytes: sig.encoded()), sig)
            }
        }
    }

    func testKeyIDHelpers() {
        XCTAssertEqual(KeyID.hex(0xebad2e13), "ebad2e13")
        XCTAssertEqual(KeyID.parse("ebad2e13"), 0xebad2e13)
        XCTAssertEqual(KeyID.parse("0x0000ffff"), 0xffff)
        XCTAssertNil(KeyID.parse("ebad2e1"))
        XCTAssertNil(KeyID.parse("zzzzzzzz"))
        XCTAssertEqual(KeyID.fromSHA1(Array(repeating: 0, count: 16) + [1, 2, 3, 4]), 0x01020304)
    }

    func testHex() {
        XCTAssertEqual(Hex.encode([0x00, 0xff, 0x10]), "00ff10")
        XCTAssertEqual(Hex.decode("00FF10"), [0x00, 0xff, 0x10])
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("gg"))
    }
}
