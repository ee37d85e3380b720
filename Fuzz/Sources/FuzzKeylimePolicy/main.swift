import FuzzSupport
import Attestation

/// Keylime runtime policies: validation errors only; what parses converts to
/// a reference without crashing and re-encodes to a policy that parses.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    guard let policy = try? KeylimeRuntimePolicy(parsing: bytes) else { return 0 }
    _ = try? policy.reference()
    let again = try? KeylimeRuntimePolicy(parsing: policy.encoded())
    precondition(again != nil, "an accepted policy must re-encode to an accepted policy")
    return 0
}

@_cdecl("FuzzKeylimePolicy_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
