import FuzzSupport
import IMAFormat

/// security.ima / security.evm values: decode must throw or succeed, never
/// crash, and a decoded value must re-encode to the same bytes.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    if let value = try? IMAXattr(bytes: bytes) {
        precondition(value.encoded() == bytes, "xattr round trip changed the bytes")
    }
    precondition(EVMXattr.roundTrips(bytes), "security.evm round trip changed the bytes")
    return 0
}

@_cdecl("FuzzXattr_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
