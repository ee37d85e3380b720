import XCTest
import IMAFormat
import SignetCrypto
@testable import TPM
@testable import TPMDevice

/// TPM structures parsed from untrusted bytes: round trips, and every kind of
/// bad input ending in a typed error that names the field and offset.
final class TPMStructureTests: XCTestCase {
    /// A quote as swtpm made it (tpm2_quote -m, sha256:0,10, nonce 0102030405).
    static let swtpmQuote = Hex.decode(
        "ff54434780180022000beb22d38d284ad35341811481770a25c1c07309b97e2f285ec6dd89fc82ec6a6d0005010203040500000000000004a9"
        + "000000010000000001201910230016363600000001000b030104000020f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b")!

    func assertCode<T>(_ code: TPMStructureError.Code, _ body: @autoclosure () throws -> T,
                       field: String? = nil, offset: Int? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected \(code), parsed fine", file: file, line: line)
        } catch let error as TPMStructureError {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            if let field { XCTAssertTrue(error.field.contains(field), "\(error)", file: file, line: line) }
            if let offset { XCTAssertEqual(error.offset, offset, "\(error)", file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    // MARK: TPMS_ATTEST

    func testParsesSwtpmQuote() throws {
        let attest = try TPMSAttest(marshaled: Self.swtpmQuote)
        XCTAssertEqual(attest.extraData, [1, 2, 3, 4, 5])
        XCTAssertEqual(attest.qualifiedSigner.count, 34)
        XCTAssertEqual(Array(attest.qualifiedSigner.prefix(2)), [0x00, 0x0b])
        XCTAssertEqual(attest.clockInfo.clock, 0x4a9)
        XCTAssertEqual(attest.clockInfo.resetCount, 1)
        XCTAssertEqual(attest.clockInfo.restartCount, 0)
        XCTAssertTrue(attest.clockInfo.safe)
        XCTAssertEqual(attest.firmwareVersion, 0x2019_1023_0016_3636)
        XCTAssertEqual(attest.pcrSelection, PCRSelection(.sha256, [0, 10]))
        XCTAssertEqual(attest.pcrSelection.description, "sha256:0,10")
        XCTAssertEqual(Hex.encode(attest.pcrDigest), "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b")
        // H(PCR0 || PCR10), both zero on a fresh TPM.
        let zero = PCRValue(bank: .sha256, index: 0, digest: [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(QuoteVerifier.pcrDigest([zero, zero], hash: .sha256), attest.pcrDigest)

        let rebuilt = TPMSAttest(qualifiedSigner: attest.qualifiedSigner, extraData: attest.extraData, clockInfo: attest.clockInfo,
                                 firmwareVersion: attest.firmwareVersion, pcrSelection: attest.pcrSelection, pcrDigest: attest.pcrDigest)
        XCTAssertEqual(rebuilt.marshaled, Self.swtpmQuote)
        XCTAssertEqual(rebuilt, attest)
    }

    func testAttestTruncatedAtEveryOffset() {
        for n in 0..<Self.swtpmQuote.count {
            assertCode(.truncated, try TPMSAttest(marshaled: Array(Self.swtpmQuote.prefix(n))))
        }
        // The field named is the one cut.
        assertCode(.truncated, try TPMSAttest(marshaled: Array(Self.swtpmQuote.prefix(2))), field: "TPMS_ATTEST.magic", offset: 0)
        assertCode(.truncated, try TPMSAttest(marshaled: Array(Self.swtpmQuote.prefix(45))), field: "extraData.buffer", offset: 44)
    }

    func testAttestWrongMagicTypeAndTrailingBytes() {
        var bad = Self.swtpmQuote
        bad[0] = 0xfe
        assertCode(.badMagic, try TPMSAttest(marshaled: bad), field: "TPMS_ATTEST.magic", offset: 0)
        bad = Self.swtpmQuote
        bad[5] = 0x17  // TPM_ST_ATTEST_CERTIFY
        assertCode(.unexpectedType, try TPMSAttest(marshaled: bad), field: "TPMS_ATTEST.type", offset: 4)
        assertCode(.trailingBytes, try TPMSAttest(marshaled: Self.swtpmQuote + [0]), field: "TPMS_ATTEST",
                   offset: Self.swtpmQuote.count)
        bad = Self.swtpmQuote
        bad[0x41] = 2  // clockInfo.safe
        assertCode(.invalidValue, try TPMSAttest(marshaled: bad), field: "safe", offset: 0x41)
    }

    func testAttestHostileSizes() {
        // qualifiedSigner.size = 0xffff
        var bad = Self.swtpmQuote
        bad[6] = 0xff; bad[7] = 0xff
        assertCode(.sizeTooLarge, try TPMSAttest(marshaled: bad), field: "qualifiedSigner.size", offset: 6)
        // extraData.size larger than TPM2B_DATA (66) but within the buffer.
        bad = Self.swtpmQuote
        bad[42] = 0; bad[43] = 67
        assertCode(.sizeTooLarge, try TPMSAttest(marshaled: bad), field: "extraData.size", offset: 42)
        // extraData.size within limits but past the end.
        bad = Array(Self.swtpmQuote.prefix(50))
        bad[42] = 0; bad[43] = 60
        assertCode(.truncated, try TPMSAttest(marshaled: bad), field: "extraData")
        // pcrSelect count 17 banks.
        let countAt = 0x4a
        bad = Self.swtpmQuote
        bad[countAt + 3] = 17
        assertCode(.sizeTooLarge, try TPMSAttest(marshaled: bad), field: "pcrSelect.count", offset: countAt)
        // sizeofSelect 5.
        bad = Self.swtpmQuote
        bad[countAt + 6] = 5
        assertCode(.sizeTooLarge, try TPMSAttest(marshaled: bad), field: "sizeofSelect", offset: countAt + 6)
        // pcrDigest larger than 64.
        let digestAt = Self.swtpmQuote.count - 34
        bad = Self.swtpmQuote
        bad[digestAt + 1] = 65
        assertCode(.sizeTooLarge, try TPMSAttest(marshaled: bad), field: "pcrDigest.size", offset: digestAt)
    }

    func testRandomMutationsNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let samples: [[UInt8]] = [Self.swtpmQuote, TPMTemplates.endorsementKey(.rsa2048).tpm2bMarshaled,
                                  TPMTemplates.attestationKey(.eccP256).tpm2bMarshaled,
                                  TPMSignature.ecdsa(hash: .sha256, r: [1, 2], s: [3]).marshaled]
        for sample in samples {
            for _ in 0..<2000 {
                var b = sample
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng))) }
                _ = try? TPMSAttest(marshaled: b, allowPCRsAbove23: Bool.random(using: &rng))
                _ = try? TPMSignature(marshaled: b)
                _ = try? TPMPublic(tpm2bPublic: b)
                _ = try? TPMPublic(marshaled: b)
                _ = try? PCRSelection(marshaled: b)
                _ = try? TPM2ToolsPCRFile.decode(b)
            }
        }
        for _ in 0..<5000 {
            let b = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? TPMSAttest(marshaled: b)
            _ = try? TPMSignature(marshaled: b)
            _ = try? TPMPublic(tpm2bPublic: b)
        }
    }

    // MARK: TPML_PCR_SELECTION

    func testPCRSelectionWireFormat() throws {
        let s = PCRSelection(.sha256, 0...10)
        XCTAssertEqual(Hex.encode(s.marshaled), "00000001000b03ff0700")
        XCTAssertEqual(try PCRSelection(marshaled: s.marshaled), s)
        XCTAssertEqual(s.count, 11)
        XCTAssertEqual(PCRSelection.default, s)

        let two = PCRSelection([.init(.sha1, pcrs: [10]), .init(.sha256, pcrs: [23, 0])])
        XCTAssertEqual(Hex.encode(two.marshaled), "00000002" + "0004" + "03" + "000400" + "000b" + "03" + "010080")
        XCTAssertEqual(two.selected.map { "\($0.bank):\($0.index)" }, ["sha1:10", "sha256:0", "sha256:23"])

        // PCR 24+ need a 4th bitmap byte: refused unless allowed.
        let high = PCRSelection(.sha256, [24])
        XCTAssertEqual(Hex.encode(high.marshaled), "00000001000b0400000001")
        assertCode(.invalidPCRSelection, try PCRSelection(marshaled: high.marshaled), field: "pcrSelect", offset: 10)
        XCTAssertEqual(try PCRSelection(marshaled: high.marshaled, allowPCRsAbove23: true), high)
        // A 4-byte bitmap whose 4th byte is zero is fine.
        XCTAssertEqual(try PCRSelection(marshaled: Hex.decode("00000001000b0401000000")!), PCRSelection(.sha256, [0]))
        // Not a hash algorithm.
        assertCode(.unsupportedAlgorithm, try PCRSelection(marshaled: Hex.decode("000000010001030100 00".replacingOccurrences(of: " ", with: ""))!),
                   field: "hash", offset: 4)
        assertCode(.trailingBytes, try PCRSelection(marshaled: s.marshaled + [0]))
        for n in 0..<s.marshaled.count { assertCode(.truncated, try PCRSelection(marshaled: Array(s.marshaled.prefix(n)))) }
    }

    func testPCRSelectionText() throws {
        XCTAssertEqual(try PCRSelection(parsing: "sha256:0-10"), .default)
        let s = try PCRSelection(parsing: "sha256:0,1,2,10+sha1:10")
        XCTAssertEqual(s.description, "sha256:0-2,10+sha1:10")
        XCTAssertEqual(s.tpm2ToolsArgument, "sha256:0,1,2,10+sha1:10")
        XCTAssertEqual(try PCRSelection(parsing: "sha384:all").count, 24)
        XCTAssertEqual(try PCRSelection(parsing: s.description), s)
        for bad in ["", "sha256", "md5:1", "sha256:", "sha256:32", "sha256:5-2", "sha256:1+sha256:2", "sha256:a", "sha256:-1"] {
            assertCode(.invalidPCRSelection, try PCRSelection(parsing: bad))
        }
        assertCode(.invalidPCRSelection, try PCRSelection(parsing: "sha256:1,99"), offset: 9)
    }

    // MARK: TPMT_SIGNATURE

    func testSignatureFormats() throws {
        let rsa = TPMSignature.rsassa(hash: .sha256, signature: [UInt8](repeating: 7, count: 256))
        XCTAssertEqual(Array(rsa.marshaled.prefix(6)), [0x00, 0x14, 0x00, 0x0b, 0x01, 0x00])
        XCTAssertEqual(try TPMSignature(marshaled: rsa.marshaled), rsa)
        let ecc = TPMSignature.ecdsa(hash: .sha384, r: [1, 2, 3], s: [4])
        XCTAssertEqual(Hex.encode(ecc.marshaled), "0018000c000301020300" + "0104")
        XCTAssertEqual(try TPMSignature(marshaled: ecc.marshaled), ecc)
        let pss = TPMSignature.rsapss(hash: .sha1, signature: [9])
        XCTAssertEqual(try TPMSignature(marshaled: pss.marshaled), pss)

        for sample in [rsa.marshaled, ecc.marshaled] {
            for n in 0..<sample.count { assertCode(.truncated, try TPMSignature(marshaled: Array(sample.prefix(n)))) }
            assertCode(.trailingBytes, try TPMSignature(marshaled: sample + [0]), field: "TPMT_SIGNATURE", offset: sample.count)
        }
        assertCode(.unsupportedAlgorithm, try TPMSignature(marshaled: [0x00, 0x05, 0x00, 0x0b]), field: "sigAlg", offset: 0)  // HMAC
        assertCode(.unsupportedAlgorithm, try TPMSignature(marshaled: [0x00, 0x14, 0x00, 0x06, 0x00, 0x01, 0x00]), field: "hash", offset: 2)
        assertCode(.sizeTooLarge, try TPMSignature(marshaled: [0x00, 0x14, 0x00, 0x0b, 0x02, 0x01] + [UInt8](repeating: 0, count: 513)),
                   field: "sig.size", offset: 4)
        assertCode(.sizeTooLarge, try TPMSignature(marshaled: [0x00, 0x18, 0x00, 0x0b, 0x00, 0x81] + [UInt8](repeating: 0, count: 129) + [0, 1, 1]),
                   field: "signatureR.size", offset: 4)
        assertCode(.invalidValue, try TPMSignature(marshaled: [0x00, 0x14, 0x00, 0x0b, 0x00, 0x00]), field: "sig.size")
        assertCode(.invalidValue, try TPMSignature(marshaled: [0x00, 0x18, 0x00, 0x0b, 0x00, 0x01, 0x05, 0x00, 0x00]), field: "signatureS")
    }

    // MARK: TPMT_PUBLIC / TPM2B_PUBLIC

    func testTemplatesRoundTrip() throws {
        let templates = TPMKeyType.allCases.flatMap { [TPMTemplates.endorsementKey($0), TPMTemplates.attestationKey($0)] }
            + [TPMTemplates.storageRootKey]
        for t in templates {
            XCTAssertEqual(try TPMPublic(marshaled: t.marshaled), t)
            XCTAssertEqual(try TPMPublic(tpm2bPublic: t.tpm2bMarshaled), t)
            XCTAssertEqual(try TPMPublic(tpm2bPublic: t.tpm2bMarshaled).marshaled, t.marshaled)
            for n in 0..<t.tpm2bMarshaled.count { assertCode(.truncated, try TPMPublic(tpm2bPublic: Array(t.tpm2bMarshaled.prefix(n)))) }
        }
        // The TCG EK templates, byte for byte (EK Credential Profile L-1 head and attributes).
        let ek = TPMTemplates.endorsementKey(.rsa2048).marshaled
        XCTAssertEqual(Hex.encode(ek.prefix(10)), "0001000b000300b20020")
        XCTAssertEqual(ek.count, 2 + 2 + 4 + 34 + 2 + 2 + 2 + 2 + 2 + 4 + 2 + 256)
        XCTAssertEqual(TPMTemplates.endorsementKey(.eccP256).attributes.rawValue, 0x0003_00b2)
        XCTAssertEqual(TPMTemplates.attestationKey(.rsa2048).attributes.rawValue, 0x0005_0072)
        XCTAssertEqual(TPMTemplates.storageRootKey.attributes.rawValue, 0x0003_0472)
        XCTAssertEqual(TPMTemplates.attestationKey(.rsa2048).attributes.description,
                       "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign")
    }

    func testPublicAreaErrors() throws {
        let t = TPMTemplates.attestationKey(.rsa2048).tpm2bMarshaled
        // TPM2B_PUBLIC.size says one byte more than follows / one byte less than the TPMT_PUBLIC.
        var bad = t
        bad[1] += 1
        assertCode(.truncated, try TPMPublic(tpm2bPublic: bad))
        bad = t + [0]
        bad[1] += 1
        assertCode(.trailingBytes, try TPMPublic(tpm2bPublic: bad), field: "TPM2B_PUBLIC")
        assertCode(.trailingBytes, try TPMPublic(tpm2bPublic: t + [0]), field: "TPM2B_PUBLIC", offset: t.count)
        bad = t
        bad[0] = 0x10  // 4096+ byte public area
        assertCode(.sizeTooLarge, try TPMPublic(tpm2bPublic: bad), field: "TPM2B_PUBLIC.size", offset: 0)
        // type KEYEDHASH
        bad = t
        bad[3] = 0x08
        assertCode(.unsupportedAlgorithm, try TPMPublic(tpm2bPublic: bad), field: "TPMT_PUBLIC.type", offset: 2)
        // nameAlg AES
        bad = t
        bad[5] = 0x06
        assertCode(.unsupportedAlgorithm, try TPMPublic(tpm2bPublic: bad), field: "nameAlg", offset: 4)
        // An RSA scheme that is not one (ECDSA in TPMT_RSA_SCHEME).
        bad = t
        bad[14 + 1] = 0x18  // after size, type, nameAlg, attributes, authPolicy(2), symmetric(2)
        assertCode(.unsupportedAlgorithm, try TPMPublic(tpm2bPublic: bad), field: "TPMS_RSA_PARMS.scheme")
        // Hostile modulus size.
        let rsaEK = TPMTemplates.endorsementKey(.rsa2048).tpm2bMarshaled
        bad = rsaEK
        bad[rsaEK.count - 258] = 0x02; bad[rsaEK.count - 257] = 0x01
        assertCode(.sizeTooLarge, try TPMPublic(tpm2bPublic: bad), field: "unique.rsa.size", offset: rsaEK.count - 258)
        // A modulus of the wrong length for keyBits.
        let shortModulus = TPMPublic(nameAlg: .sha256, attributes: .attestationKeyRequired,
                                     parameters: .rsa(TPMRSAParameters(symmetric: .null, scheme: .null, keyBits: 2048, exponent: 0)),
                                     unique: .rsa(modulus: [1, 2, 3]))
        assertCode(.invalidValue, try TPMPublic(marshaled: shortModulus.marshaled), field: "unique.rsa.size")
    }

    func testPublicKeyConversionRefusesBadKeys() throws {
        // A template has no key.
        assertCode(.invalidValue, try TPMTemplates.attestationKey(.rsa2048).publicKey(), field: "unique.rsa")
        // A point that is not on P-256.
        let offCurve = TPMPublic(nameAlg: .sha256, attributes: TPMTemplates.attestationKeyAttributes,
                                 parameters: TPMTemplates.attestationKey(.eccP256).parameters,
                                 unique: .ecc(x: [UInt8](repeating: 1, count: 32), y: [UInt8](repeating: 2, count: 32)))
        assertCode(.invalidValue, try offCurve.publicKey(), field: "unique.ecc")
        // BN curves are not supported.
        let bn = TPMPublic(nameAlg: .sha256, attributes: [],
                           parameters: .ecc(TPMECCParameters(symmetric: .null, scheme: .null, curve: .bnP256)),
                           unique: .ecc(x: [1], y: [2]))
        assertCode(.unsupportedAlgorithm, try bn.publicKey(), field: "curveID")
        // The name needs a hash Signet computes.
        let sm3 = TPMPublic(nameAlg: .sm3_256, attributes: [], parameters: bn.parameters, unique: bn.unique)
        assertCode(.unsupportedAlgorithm, try sm3.name(), field: "nameAlg")
        XCTAssertEqual(try TPMTemplates.storageRootKey.name().count, 34)
    }

    func testTPM2BHelpers() throws {
        XCTAssertEqual(TPM2B.encode([1, 2]), [0, 2, 1, 2])
        XCTAssertEqual(try TPM2B.decode([0, 2, 1, 2]), [1, 2])
        assertCode(.trailingBytes, try TPM2B.decode([0, 1, 1, 2]))
        assertCode(.truncated, try TPM2B.decode([0, 3, 1, 2]))
        assertCode(.sizeTooLarge, try TPM2B.decode([0, 3, 1, 2, 3], max: 2))
    }

    // MARK: tpm2-tools PCR file

    func testPCRFileRoundTrip() throws {
        let selection = PCRSelection([.init(.sha256, pcrs: 0...10), .init(.sha1, pcrs: [10])])
        let values = selection.selected.enumerated().map { i, pcr in
            PCRValue(bank: pcr.bank, index: pcr.index, digest: [UInt8](repeating: UInt8(i), count: pcr.bank.digestLength!))
        }
        let file = TPM2ToolsPCRFile.encode(selection: selection, values: values)
        XCTAssertEqual(file.count, 132 + 4 + 2 * 532)
        let (s, v) = try TPM2ToolsPCRFile.decode(file)
        XCTAssertEqual(s, selection)
        XCTAssertEqual(v, values)
        for n in stride(from: 0, to: file.count, by: 7) { XCTAssertThrowsError(try TPM2ToolsPCRFile.decode(Array(file.prefix(n)))) }
        XCTAssertThrowsError(try TPM2ToolsPCRFile.decode(file + [0]))
    }
}
