import FuzzSupport
import TPM

/// The verifier's unauthenticated enrolment step on untrusted keys: the input is an EK and an
/// AK, each a TPM2B_PUBLIC, back to back (as a node sends them). Whatever parses is checked
/// (AK attributes) and a MakeCredential challenge is made to the EK for the AK's name: typed
/// errors only, never a crash, and a made challenge has the sizes TPM2B wrappers declare.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    guard bytes.count >= 2 else { return 0 }
    let ekLength = 2 + (Int(bytes[0]) << 8 | Int(bytes[1]))
    guard ekLength <= bytes.count else { return 0 }
    let ekBytes = Array(bytes[0..<ekLength]), akBytes = Array(bytes[ekLength...])
    guard let ek = try? TPMPublic(tpm2bPublic: ekBytes), let ak = try? TPMPublic(tpm2bPublic: akBytes) else { return 0 }
    _ = try? AttestationKeyRequirements.check(ak)
    guard let name = try? ak.name() else { return 0 }
    if let challenge = try? MakeCredential.make(credential: [UInt8](repeating: 0x5a, count: 32), objectName: name, endorsementKey: ek) {
        for blob in [challenge.credentialBlob, challenge.encryptedSecret] {
            precondition(blob.count >= 2 && Int(blob[0]) << 8 | Int(blob[1]) == blob.count - 2, "TPM2B size")
        }
    }
    return 0
}

@_cdecl("FuzzEnrollment_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
