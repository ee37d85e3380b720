import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// Attestation keys saved as files survive a TPM power cycle.
final class AttestationKeyTests: SwtpmTestCase {
    func testAKSurvivesRestart() throws {
        for type in TPMKeyType.allCases {
            let akDir = dir.url("ak-\(type.rawValue)")
            let first = try withTPM { tpm in
                let ak = try tpm.createAttestationKey(type)
                try ak.save(to: akDir)
                return try tpm.quote(with: ak, nonce: [1, 2, 3])
            }
            for file in ["ak.pub", "ak.priv", "ak.name", "ak.pem"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(akDir)/\(file)"), file)
            }
            let mode = try FileManager.default.attributesOfItem(atPath: "\(akDir)/ak.priv")[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600)

            try swtpm.restart()
            try extendSHA256(10, "after restart \(type)")
            let nonce = nonce()
            let ak = try AttestationKey.load(from: akDir)
            let second = try withTPM { try $0.quote(with: ak, nonce: nonce) }
            let pem = try PublicKey.decode(pem: try FileBytes.read("\(akDir)/ak.pem"))
            let verified = try QuoteVerifier.verify(attest: second.attest, signature: second.signature, akKey: pem,
                                                    nonce: nonce, pcrs: second.pcrs)
            let before = try TPMSAttest(marshaled: first.attest)
            XCTAssertGreaterThan(verified.attest.clockInfo.resetCount, before.clockInfo.resetCount, "a power cycle is a TPM reset")
            XCTAssertEqual(verified.attest.qualifiedSigner.count, 34)
            XCTAssertNotEqual(second.pcrs[10], first.pcrs[10])
            XCTAssertEqual(try ak.publicKey().spkiDER, pem.spkiDER)
        }
    }

    func testKeyFilesAreChecked() throws {
        let ak = try withTPM { try $0.createAttestationKey(.rsa2048) }
        let akDir = dir.url("ak")
        try ak.save(to: akDir)
        XCTAssertEqual(try AttestationKey.load(from: akDir).name, ak.name)
        XCTAssertEqual(try read("ak/ak.name"), try ak.publicArea.name())

        // A name that does not match the public area.
        dir.write("ak/ak.name", [0, 0x0b] + [UInt8](repeating: 0, count: 32))
        XCTAssertThrowsError(try AttestationKey.load(from: akDir)) { XCTAssertEqual(($0 as? TPMError)?.code, .keyFiles) }
        // Missing and truncated files.
        XCTAssertThrowsError(try AttestationKey.load(from: dir.url("nothing"))) { XCTAssertEqual(($0 as? TPMError)?.code, .keyFiles) }
        dir.write("ak/ak.name", ak.name)
        dir.write("ak/ak.pub", Array(ak.publicBlob.dropLast()))
        XCTAssertThrowsError(try AttestationKey.load(from: akDir)) { XCTAssertEqual(($0 as? TPMError)?.code, .keyFiles) }
        // An EK is not an AK.
        let ek = try withTPM { try $0.endorsementKey(.rsa2048) }
        XCTAssertThrowsError(try AttestationKey(publicBlob: ek.publicArea.tpm2bMarshaled, privateBlob: [0, 0])) {
            XCTAssertEqual(($0 as? TPMError)?.code, .keyFiles)
        }
        // Blobs of another TPM (here: a private part that does not belong) are refused at load.
        let other = try withTPM { try $0.createAttestationKey(.rsa2048) }
        let mixed = try AttestationKey(publicBlob: ak.publicBlob, privateBlob: other.privateBlob)
        try withTPM { tpm in
            XCTAssertThrowsError(try tpm.quote(with: mixed, nonce: [1])) { XCTAssertEqual(($0 as? TPMError)?.code, .commandFailed, "\($0)") }
            // Nothing was left loaded: the simulator has no resource manager, and 3 object slots.
            for _ in 0..<5 { XCTAssertNoThrow(try tpm.quote(with: ak, nonce: [2])) }
        }
    }
}
