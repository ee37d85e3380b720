import FuzzSupport
import Policy

/// ELF headers as `policy check` reads them (PT_INTERP, DT_NEEDED, DT_RUNPATH):
/// any bytes give dependencies or a typed ELFError, never a crash; reading the
/// same bytes through the bounded reader closure gives the same answer.
let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    let direct = Result { () throws(ELFError) -> ELFDependencies in try ELFReader.dependencies(of: bytes) }
    var reads = 0
    let viaReader = Result { () throws(ELFError) -> ELFDependencies in
        try ELFReader.dependencies(size: UInt64(bytes.count)) { (offset: UInt64, count: Int) throws(ELFError) -> [UInt8] in
            reads += 1
            precondition(count >= 0 && offset <= UInt64(bytes.count) && UInt64(count) <= UInt64(bytes.count) - offset,
                         "read outside the file: \(offset)+\(count) of \(bytes.count)")
            return Array(bytes[Int(offset)..<Int(offset) + count])
        }
    }
    precondition(reads < 2048, "unbounded number of reads")
    switch (direct, viaReader) {
    case let (.success(a), .success(b)): precondition(a == b, "answers differ")
    case let (.failure(a), .failure(b)): precondition(a == b, "errors differ")
    default: preconditionFailure("one path failed, the other did not")
    }
    if case .success(let deps) = direct {
        precondition(deps.needed.count <= ELFReader.maxNeeded)
        precondition((deps.interpreter?.utf8.count ?? 0) < Int(ELFReader.maxInterpreterLength))
    }
    return 0
}

@_cdecl("FuzzELF_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
