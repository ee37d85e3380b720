import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// MakeCredential without a TPM: known answers computed independently
/// (Python hashlib/hmac and the openssl CLI), and the typed errors for
/// inputs it must refuse.
final class CredentialInputTests: XCTestCase {
    /// An RSA-2048 EK public area (the modulus only has to look like one: these checks run before any crypto).
    static func rsaEK(attributes: TPMObjectAttributes = TPMTemplates.ekAttributes,
                      symmetric: TPMSymmetricDefinition = .aes128CFB, keyBits: UInt16 = 2048) -> TPMPublic {
        TPMPublic(nameAlg: .sha256, attributes: attributes, authPolicy: TPMTemplates.ekAuthPolicy,
                  parameters: .rsa(TPMRSAParameters(symmetric: symmetric, scheme: .null, keyBits: keyBits, exponent: 0)),
                  unique: .rsa(modulus: [UInt8](repeating: 0xC5, count: Int(keyBits) / 8)))
    }

    static let akName: [UInt8] = [0x00, 0x0b] + (0..<32).map { UInt8($0) }

    // MARK: - Known answers

    /// KDFa and the whole TPM2B_ID_OBJECT for a fixed seed, against Python
    /// (hmac/hashlib KDFa) + `openssl enc -aes-128-cfb`.
    func testProtectMatchesIndependentComputation() throws {
        guard let python = which("python3"), which("openssl") != nil else { throw XCTSkip("python3 or openssl missing") }
        let seed = (0..<32).map { UInt8(0xA0 &+ $0) }
        let credential = Array("the enrolment credential".utf8)
        let script = """
            import hmac, hashlib, subprocess, sys
            def kdfa(key, label, u, v, bits):
                out, i = b'', 0
                while len(out) < bits // 8:
                    i += 1
                    out += hmac.new(key, i.to_bytes(4, 'big') + label + b'\\0' + u + v + bits.to_bytes(4, 'big'), hashlib.sha256).digest()
                return out[:bits // 8]
            seed, name, cred = (bytes.fromhex(a) for a in sys.argv[1:4])
            sym = kdfa(seed, b'STORAGE', name, b'', 128)
            hk = kdfa(seed, b'INTEGRITY', b'', b'', 256)
            enc = subprocess.run(['openssl', 'enc', '-aes-128-cfb', '-nosalt', '-K', sym.hex(), '-iv', '00' * 16],
                                 input=len(cred).to_bytes(2, 'big') + cred, capture_output=True, check=True).stdout
            outer = hmac.new(hk, enc + name, hashlib.sha256).digest()
            inner = len(outer).to_bytes(2, 'big') + outer + enc
            print(sym.hex())
            print(hk.hex())
            print(kdfa(seed, b'LONG', name, b'\\x01\\x02', 520).hex())
            print((len(inner).to_bytes(2, 'big') + inner).hex())
            """
        let result = try runProgram(python, ["-c", script, Hex.encode(seed), Hex.encode(Self.akName), Hex.encode(credential)])
        XCTAssertEqual(result.status, 0, result.output)
        let lines = result.stdout.split(separator: "\n").map { Hex.decode($0) ?? [] }
        XCTAssertEqual(lines.count, 4, result.output)
        guard lines.count == 4 else { return }

        XCTAssertEqual(try CredentialKDF.kdfa(.sha256, key: seed, label: "STORAGE", contextU: Self.akName, contextV: [], bits: 128), lines[0])
        XCTAssertEqual(try CredentialKDF.kdfa(.sha256, key: seed, label: "INTEGRITY", contextU: [], contextV: [], bits: 256), lines[1])
        // Three HMAC blocks, cut to 65 bytes: the counter and the length field.
        XCTAssertEqual(try CredentialKDF.kdfa(.sha256, key: seed, label: "LONG", contextU: Self.akName, contextV: [1, 2], bits: 520),
                       lines[2])
        let blob = try MakeCredential.protect(credential: credential, objectName: Self.akName, seed: seed, hash: .sha256,
                                              symmetricKeyBits: 128)
        XCTAssertEqual(blob, lines[3])
        XCTAssertEqual(blob.count, 2 + 2 + 32 + 2 + credential.count)
    }

    /// A fixed seed (RSA) or ephemeral scalar (ECC) gives a fixed credential blob.
    func testSeedInputIsDeterministic() throws {
        let seed = [UInt8](repeating: 7, count: 32)
        let ek = Self.rsaEK()
        // The 0xC5… modulus is a valid RSA modulus as far as OpenSSL's encryption goes.
        let a = try MakeCredential.make(credential: [1, 2, 3], objectName: Self.akName, endorsementKey: ek, seed: .rsaSeed(seed))
        let b = try MakeCredential.make(credential: [1, 2, 3], objectName: Self.akName, endorsementKey: ek, seed: .rsaSeed(seed))
        XCTAssertEqual(a.challenge.credentialBlob, b.challenge.credentialBlob)
        XCTAssertNotEqual(a.challenge.encryptedSecret, b.challenge.encryptedSecret, "OAEP is randomized")
        XCTAssertEqual(a.challenge.encryptedSecret.count, 2 + 256)
        XCTAssertEqual(a.seed, seed)
    }

    /// The tpm2-tools credential file: header, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET.
    func testTpm2ToolsFileRoundTrip() throws {
        let challenge = CredentialChallenge(credentialBlob: TPM2B.encode([1, 2, 3]), encryptedSecret: TPM2B.encode([4, 5]))
        let file = challenge.tpm2ToolsFile
        XCTAssertEqual(file, [0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1, 0, 3, 1, 2, 3, 0, 2, 4, 5])
        XCTAssertEqual(try CredentialChallenge(tpm2ToolsFile: file), challenge)
        for bad in [Array(file.dropLast()), file + [0], [0xBA, 0xDC, 0xC0, 0xDF] + file.dropFirst(4),
                    Array(file.prefix(7)) + [2] + file.dropFirst(8), []] {
            XCTAssertThrowsError(try CredentialChallenge(tpm2ToolsFile: bad)) {
                XCTAssertEqual(($0 as? CredentialError)?.code, .malformedChallenge, "\($0)")
            }
        }
    }

    // MARK: - Refused inputs

    func testCredentialSize() throws {
        let ek = Self.rsaEK()
        for size in [0, 33, 64] {
            assertError(.invalidCredential, field: "credential") {
                try MakeCredential.make(credential: [UInt8](repeating: 1, count: size), objectName: Self.akName, endorsementKey: ek)
            }
        }
        XCTAssertNoThrow(try MakeCredential.make(credential: [UInt8](repeating: 1, count: 32), objectName: Self.akName, endorsementKey: ek))
        XCTAssertNoThrow(try MakeCredential.make(credential: [1], objectName: Self.akName, endorsementKey: ek))
    }

    func testObjectName() throws {
        let ek = Self.rsaEK()
        let cases: [([UInt8], String)] = [
            ([], "objectName"), ([0x00], "objectName"),
            ([0x00, 0x01] + [UInt8](repeating: 0, count: 32), "objectName.nameAlg"),   // rsa is not a hash
            (Array("garbage garbage garbage garbage!".utf8), "objectName.nameAlg"),
            ([0x00, 0x0b] + [UInt8](repeating: 0, count: 31), "objectName.digest"),
            ([0x00, 0x0b] + [UInt8](repeating: 0, count: 48), "objectName.digest"),
        ]
        for (name, field) in cases {
            assertError(.invalidObjectName, field: field) {
                try MakeCredential.make(credential: [1], objectName: name, endorsementKey: ek)
            }
        }
        XCTAssertNoThrow(try MakeCredential.make(credential: [1], objectName: [0x00, 0x04] + [UInt8](repeating: 9, count: 20),
                                                 endorsementKey: ek), "a SHA-1 name is a name")
    }

    func testEndorsementKeyRequirements() throws {
        let name = Self.akName
        func refuse(_ ek: TPMPublic, _ field: String, line: UInt = #line) {
            assertError(.unsupportedEndorsementKey, field: field, line: line) {
                try MakeCredential.make(credential: [1], objectName: name, endorsementKey: ek)
            }
        }
        refuse(Self.rsaEK(attributes: TPMTemplates.ekAttributes.subtracting(.restricted)), "TPMT_PUBLIC.objectAttributes.restricted")
        refuse(Self.rsaEK(attributes: TPMTemplates.ekAttributes.subtracting(.decrypt)), "TPMT_PUBLIC.objectAttributes.decrypt")
        refuse(Self.rsaEK(attributes: TPMTemplates.ekAttributes.union(.sign)), "TPMT_PUBLIC.objectAttributes.sign")
        refuse(Self.rsaEK(symmetric: .null), "TPMT_PUBLIC.parameters.symmetric")
        refuse(Self.rsaEK(symmetric: TPMSymmetricDefinition(algorithm: .aes, keyBits: 256, mode: .cfb)), "TPMT_PUBLIC.parameters.symmetric")
        refuse(Self.rsaEK(symmetric: TPMSymmetricDefinition(algorithm: .aes, keyBits: 128, mode: .cbc)), "TPMT_PUBLIC.parameters.symmetric")
        refuse(Self.rsaEK(keyBits: 3072), "TPMS_RSA_PARMS.keyBits")
        // The template itself (all-zero unique) is not a key.
        refuse(TPMTemplates.endorsementKey(.eccP256), "TPMT_PUBLIC.unique.ecc")
        refuse(TPMTemplates.endorsementKey(.rsa2048), "TPMT_PUBLIC.unique.rsa")
        // An ECC EK on another curve, and a point that is not on P-256.
        let p384 = TPMPublic(nameAlg: .sha256, attributes: TPMTemplates.ekAttributes, authPolicy: TPMTemplates.ekAuthPolicy,
                             parameters: .ecc(TPMECCParameters(symmetric: .aes128CFB, scheme: .null, curve: .nistP384)),
                             unique: .ecc(x: [UInt8](repeating: 1, count: 48), y: [UInt8](repeating: 2, count: 48)))
        refuse(p384, "TPMS_ECC_PARMS.curveID")
        let offCurve = TPMPublic(nameAlg: .sha256, attributes: TPMTemplates.ekAttributes, authPolicy: TPMTemplates.ekAuthPolicy,
                                 parameters: .ecc(TPMECCParameters(symmetric: .aes128CFB, scheme: .null, curve: .nistP256)),
                                 unique: .ecc(x: [UInt8](repeating: 1, count: 32), y: [UInt8](repeating: 2, count: 32)))
        refuse(offCurve, "TPMT_PUBLIC.unique.ecc")
    }

    func testAttestationKeyRequirements() throws {
        for type in TPMKeyType.allCases {
            XCTAssertNoThrow(try AttestationKeyRequirements.check(TPMTemplates.attestationKey(type)))
        }
        func ak(_ attributes: TPMObjectAttributes, scheme: TPMScheme = TPMScheme(.rsassa, hash: .sha256)) -> TPMPublic {
            TPMPublic(nameAlg: .sha256, attributes: attributes,
                      parameters: .rsa(TPMRSAParameters(symmetric: .null, scheme: scheme, keyBits: 2048, exponent: 0)),
                      unique: .rsa(modulus: []))
        }
        let good = TPMTemplates.attestationKeyAttributes
        let cases: [(TPMPublic, String)] = [
            (ak(good.subtracting(.restricted)), "TPMT_PUBLIC.objectAttributes.restricted"),
            (ak(good.subtracting(.sign)), "TPMT_PUBLIC.objectAttributes.sign"),
            (ak(good.subtracting(.fixedTPM)), "TPMT_PUBLIC.objectAttributes.fixedTPM"),
            (ak(good.subtracting(.fixedParent)), "TPMT_PUBLIC.objectAttributes.fixedParent"),
            (ak(good.subtracting(.sensitiveDataOrigin)), "TPMT_PUBLIC.objectAttributes.sensitiveDataOrigin"),
            (ak(good.union(.decrypt)), "TPMT_PUBLIC.objectAttributes.decrypt"),
            (ak(good, scheme: .null), "TPMT_PUBLIC.parameters.scheme"),
            (ak(good, scheme: TPMScheme(.oaep, hash: .sha256)), "TPMT_PUBLIC.parameters.scheme"),
            // An EK is a restricted decryption key, not a signing key.
            (TPMTemplates.endorsementKey(.rsa2048), "TPMT_PUBLIC.objectAttributes.sign"),
        ]
        for (key, field) in cases {
            assertError(.invalidAttestationKey, field: field) { try AttestationKeyRequirements.check(key) }
        }
        XCTAssertNoThrow(try AttestationKeyRequirements.check(ak(good, scheme: TPMScheme(.rsapss, hash: .sha256))))
    }

    private func assertError(_ code: CredentialError.Code, field: String, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> Any) {
        do {
            _ = try body()
            XCTFail("expected \(code) on \(field), but it succeeded", file: file, line: line)
        } catch let error as CredentialError {
            XCTAssertEqual(error.code, code, error.description, file: file, line: line)
            XCTAssertEqual(error.field, field, error.description, file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }
}
