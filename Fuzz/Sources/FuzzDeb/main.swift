import DebianPackage
import FuzzSupport

/// The ar reader, then the whole .deb reader (ar, deb(5) structure, decompression, tar, paths,
/// hard links), on any bytes: typed errors only; the ar reader gives the same answer for any
/// chunking, the .deb reader the same entries or a refusal either way. (Which layer refuses a
/// corrupt compressed member may depend on the chunking: fed whole, the decoder sees the bad
/// checksum before any output reaches tar; fed byte by byte, tar may see the bad output first.)
struct ArLog: ArSink {
    var log = [String]()
    mutating func memberStart(_ member: ArMember) throws(DebianPackageError) { log.append("\(member.name) \(member.size) \(member.headerOffset)") }
    mutating func memberData(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) { log.append("+\(bytes.count)") }
    mutating func memberEnd() throws(DebianPackageError) { log.append("end") }
}

struct Contents: DebContentHandler {
    var log = [String]()
    var bytes: Int64 = 0
    mutating func control(_ control: DebControl) { log.append("\(control.package) \(control.version) \(control.architecture)") }
    mutating func entry(_ entry: DebEntry) {
        precondition(entry.path.first == UInt8(ascii: "/"), "installed paths are absolute")
        precondition(!entry.path.contains(0) && !entry.path.contains(0x0a))
        log.append("\(entry.kind) \(entry.displayPath) \(entry.size)")
    }
    mutating func data(_ b: UnsafeRawBufferPointer) { bytes += Int64(b.count) }
    mutating func endOfEntry() {}
}

func ar(_ bytes: [UInt8], chunk: Int) -> String {
    var parser = ArParser(totalSize: Int64(bytes.count))
    var sink = ArLog()
    do {
        try forEachChunk(of: bytes, size: chunk) { raw in try parser.consume(raw, into: &sink) }
        try parser.finish()
        // Data pieces depend on the chunking: compare their sums only.
        var out = [String]()
        var sum = 0
        for l in sink.log {
            if l.hasPrefix("+") { sum += Int(l.dropFirst())! } else { out.append(l == "end" ? "end \(sum)" : l); if l == "end" { sum = 0 } }
        }
        return out.joined(separator: "\n")
    } catch let e as DebianPackageError {
        return "error \(e.code) at \(e.offset)"
    } catch {
        preconditionFailure("untyped error \(error)")
    }
}

func deb(_ bytes: [UInt8], chunk: Int) -> String {
    var limits = DebianPackageLimits()
    limits.maxEntries = 10_000
    limits.maxDataArchiveSize = 64 << 20
    limits.maxControlArchiveSize = 1 << 20
    var reader = DebArchiveReader(handler: Contents(), limits: limits, totalSize: Int64(bytes.count))
    do {
        try forEachChunk(of: bytes, size: chunk) { raw in try reader.consume(raw) }
        let summary = try reader.finish()
        precondition(summary.contentBytes == reader.handler.bytes, "content bytes")
        return reader.handler.log.joined(separator: "\n")
    } catch is DebianPackageError {
        return "refused"
    } catch {
        preconditionFailure("untyped error \(error)")
    }
}

let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    let chunk = 1 + Int(bytes.last ?? 0) * 3
    precondition(ar(bytes, chunk: chunk) == ar(bytes, chunk: .max), "ar: chunked parse differs")
    precondition(deb(bytes, chunk: chunk) == deb(bytes, chunk: .max), "deb: chunked read differs")
    return 0
}

@_cdecl("FuzzDeb_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
