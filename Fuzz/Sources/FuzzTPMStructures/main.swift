import FuzzSupport
import TPM

/// TPMS_ATTEST, TPMT_SIGNATURE, TPM2B_PUBLIC, TPML_PCR_SELECTION from
/// untrusted bytes: typed errors only; what parses re-marshals identically.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    if let attest = try? TPMSAttest(marshaled: bytes) {
        precondition(attest.marshaled == bytes, "TPMS_ATTEST round trip")
    }
    if let sig = try? TPMSignature(marshaled: bytes) {
        precondition(sig.marshaled == bytes, "TPMT_SIGNATURE round trip")
    }
    _ = try? TPMPublic(tpm2bPublic: bytes)
    _ = try? TPMPublic(marshaled: bytes)
    _ = try? PCRSelection(marshaled: bytes)
    return 0
}

@_cdecl("FuzzTPMStructures_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
