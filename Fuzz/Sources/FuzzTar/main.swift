import DebianPackage
import FuzzSupport

/// The tar reader on any bytes: a typed DebianPackageError or entries, never a crash; the same
/// answer whether the bytes come whole or cut in chunks (the chunk size comes from the input);
/// each regular entry's content is exactly its size.
struct Sink: TarSink {
    var log = [String]()
    var expected: Int64 = 0
    var got: Int64 = 0
    mutating func entry(_ entry: TarEntry) throws(DebianPackageError) {
        precondition(entry.kind == .regular || entry.size == 0, "content on a non-regular entry")
        precondition(!entry.name.isEmpty && entry.name.count <= 4096)
        log.append("\(entry.kind) \(entry.displayName) \(entry.size) \(entry.headerOffset)")
        expected = entry.size
        got = 0
    }
    mutating func data(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) {
        got += Int64(bytes.count)
        precondition(got <= expected, "more content than the entry's size")
    }
    mutating func endOfEntry() throws(DebianPackageError) {
        precondition(got == expected, "content shorter than the entry's size")
        log.append("end")
    }
}

func parse(_ bytes: [UInt8], chunk: Int) -> String {
    var limits = DebianPackageLimits()
    limits.maxEntries = 10_000
    var parser = TarParser(limits: limits)
    var sink = Sink()
    do {
        try forEachChunk(of: bytes, size: chunk) { raw in try parser.consume(raw, into: &sink) }
        try parser.finish()
        return sink.log.joined(separator: "\n")
    } catch let e as DebianPackageError {
        return "error \(e.code) at \(e.offset): \(e.reason)"
    } catch {
        preconditionFailure("untyped error \(error)")
    }
}

let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    let chunk = 1 + Int(bytes.first ?? 0) * 7
    let whole = parse(bytes, chunk: .max)
    precondition(parse(bytes, chunk: chunk) == whole, "chunked parse differs")
    return 0
}

@_cdecl("FuzzTar_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
