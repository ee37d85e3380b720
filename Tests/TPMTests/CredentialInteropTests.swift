import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// Credential challenges checked both ways against tpm2-tools:
/// `tpm2_makecredential` output activated by our ESAPI code, and our
/// challenges activated by `tpm2_activatecredential`.
final class CredentialInteropTests: SwtpmTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        for tool in ["tpm2_makecredential", "tpm2_activatecredential", "tpm2_createek", "tpm2_createak",
                     "tpm2_startauthsession", "tpm2_policysecret", "tpm2_flushcontext"] where which(tool) == nil {
            throw XCTSkip("\(tool) is not installed")
        }
    }

    func testTpm2MakecredentialOutputActivatesWithOurCode() throws {
        for type in TPMKeyType.allCases {
            let (ak, ek) = try withTPM { tpm in (try tpm.createAttestationKey(type), try tpm.endorsementKey(type)) }
            let ekPub = dir.write("ek-\(type.rawValue).pub", ek.publicArea.tpm2bMarshaled)
            let secret = nonce(32)
            let secretFile = dir.write("secret-\(type.rawValue)", secret)
            let out = dir.url("mkcred-\(type.rawValue).out")
            // Offline (no TPM): -T none overrides the TPM2TOOLS_TCTI that swtpm.tool sets.
            try swtpm.tool("tpm2_makecredential", ["-T", "none", "-u", ekPub, "-s", secretFile, "-n", Hex.encode(ak.name), "-o", out])

            let file = try FileBytes.read(out)
            XCTAssertEqual(Array(file.prefix(8)), [0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1])
            let challenge = try CredentialChallenge(tpm2ToolsFile: file)
            XCTAssertEqual(challenge.tpm2ToolsFile, file)
            XCTAssertEqual(challenge.credentialBlob.count, 2 + 2 + 32 + 2 + 32)
            XCTAssertEqual(challenge.encryptedSecret.count, type == .rsa2048 ? 2 + 256 : 2 + 2 + 32 + 2 + 32)
            let recovered = try withTPM {
                try $0.activateCredential(attestationKey: ak, endorsementKeyType: type, challenge: challenge)
            }
            XCTAssertEqual(recovered, secret, "\(type)")
        }
    }

    /// tpm2-tools creates the EK and an AK under it (its usual flow; the AK's
    /// parent does not matter to ActivateCredential); we make the challenge
    /// from its ek.pub and ak.name; tpm2_activatecredential recovers the secret.
    /// The simulator has no resource manager, so transient objects the tools
    /// leave loaded are flushed after each step.
    func testOurChallengeActivatesWithTpm2Activatecredential() throws {
        for type in TPMKeyType.allCases {
            let t = type.rawValue
            let ourEK = try withTPM { try $0.endorsementKey(type) }
            let work = dir.url("tools-\(t)")
            dir.mkdir("tools-\(t)")
            func tool(_ name: String, _ arguments: [String], line: UInt = #line) throws {
                try swtpm.tool(name, arguments, in: work, line: line)
                try swtpm.tool("tpm2_flushcontext", ["-t"], in: work, line: line)
            }
            try tool("tpm2_createek", ["-c", "ek.ctx", "-G", t, "-u", "ek.pub"])
            try tool("tpm2_createak", ["-C", "ek.ctx", "-c", "ak.ctx", "-G", t, "-g", "sha256",
                                       "-s", type == .rsa2048 ? "rsassa" : "ecdsa", "-u", "ak.pub", "-n", "ak.name", "-r", "ak.priv"])

            let ek = try TPMPublic(tpm2bPublic: try FileBytes.read("\(work)/ek.pub"))
            XCTAssertEqual(ek, ourEK.publicArea, "tpm2_createek and Signet create the same TCG default EK")
            let ak = try TPMPublic(tpm2bPublic: try FileBytes.read("\(work)/ak.pub"))
            try AttestationKeyRequirements.check(ak)
            let akName = try FileBytes.read("\(work)/ak.name")
            XCTAssertEqual(try ak.name(), akName)

            let secret = nonce(32)
            let challenge = try MakeCredential.make(credential: secret, objectName: akName, endorsementKey: ek)
            dir.write("tools-\(t)/cred.in", challenge.tpm2ToolsFile)

            try tool("tpm2_startauthsession", ["--policy-session", "-S", "session.ctx"])
            try tool("tpm2_policysecret", ["-S", "session.ctx", "-c", "e"])
            try swtpm.tool("tpm2_activatecredential", ["-c", "ak.ctx", "-C", "ek.ctx", "-i", "cred.in", "-o", "cred.out",
                                                       "-P", "session:session.ctx"], in: work)
            try tool("tpm2_flushcontext", ["session.ctx"])
            XCTAssertEqual(try FileBytes.read("\(work)/cred.out"), secret, "\(type)")

            // And a challenge for another Name is refused by the TPM through tpm2-tools too.
            let wrong = try MakeCredential.make(credential: secret, objectName: [0x00, 0x0b] + Array(akName.dropFirst(2).reversed()),
                                                endorsementKey: ek)
            dir.write("tools-\(t)/wrong.in", wrong.tpm2ToolsFile)
            try tool("tpm2_startauthsession", ["--policy-session", "-S", "session2.ctx"])
            try tool("tpm2_policysecret", ["-S", "session2.ctx", "-c", "e"])
            let refused = try runProgram(which("tpm2_activatecredential")!,
                                         ["-c", "ak.ctx", "-C", "ek.ctx", "-i", "wrong.in", "-o", "wrong.out", "-P", "session:session2.ctx"],
                                         environment: ["TPM2TOOLS_TCTI": swtpm.tcti], currentDirectory: work)
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.output.contains("integrity"), refused.output)
            try swtpm.tool("tpm2_flushcontext", ["-t"], in: work)
            try swtpm.tool("tpm2_flushcontext", ["-s"], in: work)
        }
    }
}
