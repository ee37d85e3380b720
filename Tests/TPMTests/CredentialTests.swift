import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// Challenges made in Swift (MakeCredential) answered by a real TPM (swtpm)
/// through `TPMContext.activateCredential`.
final class CredentialActivationTests: SwtpmTestCase {
    func testActivationReturnsTheCredentialForBothEKTypes() throws {
        for type in TPMKeyType.allCases {
            let (ak, ek) = try withTPM { tpm in (try tpm.createAttestationKey(type), try tpm.endorsementKey(type)) }
            try AttestationKeyRequirements.check(ak.publicArea)
            XCTAssertEqual(try ak.publicArea.name(), ak.name)
            let secret = nonce(32)
            let challenge = try MakeCredential.make(credential: secret, objectName: ak.name, endorsementKey: ek.publicArea)
            switch type {
            case .rsa2048: XCTAssertEqual(challenge.encryptedSecret.count, 2 + 256)
            case .eccP256: XCTAssertEqual(challenge.encryptedSecret.count, 2 + 2 + 32 + 2 + 32)
            }
            XCTAssertEqual(challenge.credentialBlob.count, 2 + 2 + 32 + 2 + 32)
            let recovered = try withTPM {
                try $0.activateCredential(attestationKey: ak, endorsementKeyType: type, challenge: challenge)
            }
            XCTAssertEqual(recovered, secret, "\(type)")
            // A one-byte credential, and the AK of the other type under this EK.
            let other = type == .rsa2048 ? TPMKeyType.eccP256 : .rsa2048
            let otherAK = try withTPM { try $0.createAttestationKey(other) }
            let short = try MakeCredential.make(credential: [0x42], objectName: otherAK.name, endorsementKey: ek.publicArea)
            XCTAssertEqual(try withTPM { try $0.activateCredential(attestationKey: otherAK, endorsementKeyType: type, challenge: short) },
                           [0x42])
        }
    }

    /// Fixed seeds (RSA) and ephemeral scalars (ECC): what the deterministic
    /// variant computes is what the TPM derives.
    func testDeterministicSeedsActivate() throws {
        for type in TPMKeyType.allCases {
            let (ak, ek) = try withTPM { tpm in (try tpm.createAttestationKey(type), try tpm.endorsementKey(type)) }
            let input: MakeCredential.SeedInput = type == .rsa2048 ? .rsaSeed([UInt8](repeating: 0x5A, count: 32))
                                                                   : .eccEphemeralScalar([UInt8](repeating: 0x11, count: 32))
            let a = try MakeCredential.make(credential: [9, 8, 7], objectName: ak.name, endorsementKey: ek.publicArea, seed: input)
            let b = try MakeCredential.make(credential: [9, 8, 7], objectName: ak.name, endorsementKey: ek.publicArea, seed: input)
            XCTAssertEqual(a.seed, b.seed)
            XCTAssertEqual(a.challenge.credentialBlob, b.challenge.credentialBlob)
            if type == .eccP256 { XCTAssertEqual(a.challenge.encryptedSecret, b.challenge.encryptedSecret) }
            XCTAssertEqual(try withTPM { try $0.activateCredential(attestationKey: ak, endorsementKeyType: type, challenge: a.challenge) },
                           [9, 8, 7])
        }
    }

    /// The TPM refuses a challenge made for another Name, one altered on the
    /// way, and one made for another EK; nothing stays loaded after a refusal.
    func testRefusals() throws {
        let (ak, otherAK, ek, eccEK) = try withTPM { tpm in
            (try tpm.createAttestationKey(.rsa2048), try tpm.createAttestationKey(.rsa2048),
             try tpm.endorsementKey(.rsa2048), try tpm.endorsementKey(.eccP256))
        }
        let secret = nonce(32)
        let good = try MakeCredential.make(credential: secret, objectName: ak.name, endorsementKey: ek.publicArea)

        func assertRefused(_ challenge: CredentialChallenge, _ what: String, ekType type: TPMKeyType = .rsa2048,
                           code: TPMError.Code = .commandFailed, reason: String? = nil, line: UInt = #line) throws {
            try withTPM { tpm in
                XCTAssertThrowsError(try tpm.activateCredential(attestationKey: ak, endorsementKeyType: type, challenge: challenge),
                                     what, line: line) { error in
                    let error = error as? TPMError
                    XCTAssertEqual(error?.code, code, "\(what): \(String(describing: error))", line: line)
                    if let reason { XCTAssertTrue(error?.reason.contains(reason) == true, "\(what): \(String(describing: error))", line: line) }
                }
            }
        }

        // Made for another AK's Name: the TPM's HMAC over (encIdentity ‖ our AK's Name) does not match.
        let forOther = try MakeCredential.make(credential: secret, objectName: otherAK.name, endorsementKey: ek.publicArea)
        try assertRefused(forOther, "another AK's name", reason: "integrity")
        // One flipped bit anywhere in the blob (the HMAC, the encrypted credential).
        for index in [4, 20, good.credentialBlob.count - 1] {
            var blob = good.credentialBlob
            blob[index] ^= 0x01
            try assertRefused(CredentialChallenge(credentialBlob: blob, encryptedSecret: good.encryptedSecret), "flipped byte \(index)",
                              reason: "integrity")
        }
        // A flipped byte in the encrypted seed: OAEP decryption fails.
        var secretBytes = good.encryptedSecret
        secretBytes[100] ^= 0x80
        try assertRefused(CredentialChallenge(credentialBlob: good.credentialBlob, encryptedSecret: secretBytes), "flipped seed")
        // Made for the ECC EK, presented to the RSA EK, and the other way round.
        let forECC = try MakeCredential.make(credential: secret, objectName: ak.name, endorsementKey: eccEK.publicArea)
        try assertRefused(forECC, "ECC challenge, RSA EK", ekType: .rsa2048)
        try assertRefused(good, "RSA challenge, ECC EK", ekType: .eccP256)
        // Bytes that are not the structures at all.
        try assertRefused(CredentialChallenge(credentialBlob: [0, 200, 1], encryptedSecret: good.encryptedSecret), "truncated blob",
                          code: .invalidArgument)

        // Every refusal flushed the AK, its parent, the EK and the session (swtpm has 3 object slots, no resource manager).
        for _ in 0..<3 {
            XCTAssertEqual(try withTPM { try $0.activateCredential(attestationKey: ak, endorsementKeyType: .rsa2048, challenge: good) },
                           secret)
        }
    }
}
