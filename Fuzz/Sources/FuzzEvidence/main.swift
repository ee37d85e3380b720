import FuzzSupport
import Attestation

/// Evidence JSON from a possibly compromised node: typed errors only; what
/// decodes re-encodes to evidence that decodes to the same value.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    guard let evidence = try? Evidence.decode(bytes) else { return 0 }
    let again = try? Evidence.decode(evidence.encoded())
    precondition(again == evidence, "evidence round trip changed the value")
    return 0
}

@_cdecl("FuzzEvidence_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
