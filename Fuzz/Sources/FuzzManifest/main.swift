import FuzzSupport
import Provenance

/// Provenance manifests: typed errors only; what parses re-encodes to a
/// manifest that parses to the same value.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    guard let manifest = try? Manifest(parsing: bytes, source: "fuzz") else { return 0 }
    let again = try? Manifest(parsing: manifest.encoded(), source: "fuzz")
    precondition(again == manifest, "manifest round trip")
    return 0
}

@_cdecl("FuzzManifest_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
