/// The records of a pax extended header that change what an entry is: `path`, `linkpath`,
/// `size`. Other keywords (times, owners, charset, comments, vendor keywords) are checked for
/// form and ignored, except `GNU.sparse.*`, which makes the content something other than the
/// file's bytes and is refused.
struct PaxRecords: Sendable {
    var path: [UInt8]?
    var linkPath: [UInt8]?
    var size: UInt64?

    /// Parses `"%d %s=%s\n"` records: the length counts the whole record, its digits included.
    /// A keyword given twice, a malformed record, or a value beyond the limits is refused.
    init(parsing bytes: [UInt8], at start: Int64, limits: DebianPackageLimits) throws(DebianPackageError) {
        var i = 0
        var seen = Set<[UInt8]>()
        func fail(_ reason: String) -> DebianPackageError {
            DebianPackageError(.badPax, offset: start, field: "pax", "malformed pax header at record byte \(i): \(reason)")
        }
        while i < bytes.count {
            // Some writers pad the header with NULs after the last record.
            if bytes[i] == 0 {
                guard bytes[i...].allSatisfy({ $0 == 0 }) else { throw fail("NUL byte inside a record") }
                break
            }
            var length = 0
            var j = i
            while j < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[j]) {
                length = length * 10 + Int(bytes[j] - UInt8(ascii: "0"))
                guard length <= bytes.count else { throw fail("record length larger than the header (\(bytes.count) bytes)") }
                j += 1
            }
            guard j > i, j < bytes.count, bytes[j] == UInt8(ascii: " ") else { throw fail("expected '<length> <keyword>=<value>\\n'") }
            guard bytes[i] != UInt8(ascii: "0") else { throw fail("record length with a leading zero") }
            let end = i + length
            guard end <= bytes.count, end > j + 2, bytes[end - 1] == 0x0a else {
                throw fail("record length \(length) does not end at a newline")
            }
            let body = bytes[(j + 1)..<(end - 1)]
            guard let eq = body.firstIndex(of: UInt8(ascii: "=")), eq > body.startIndex else { throw fail("record without 'keyword='") }
            let key = Array(body[body.startIndex..<eq])
            let value = Array(body[(eq + 1)...])
            guard seen.insert(key).inserted else { throw fail("keyword '\(printable(key))' given twice") }
            switch String(decoding: key, as: UTF8.self) {
            case "path", "linkpath":
                guard !value.contains(0) else { throw fail("NUL byte in \(printable(key))") }
                guard value.count <= limits.maxPathLength else {
                    throw DebianPackageError.limit("pax \(printable(key))", Int64(value.count), max: Int64(limits.maxPathLength),
                                                   offset: start, field: "pax")
                }
                // An empty value removes the keyword (POSIX): the header's own field applies.
                if key == Array("path".utf8) { path = value.isEmpty ? nil : value } else { linkPath = value.isEmpty ? nil : value }
            case "size":
                guard !value.isEmpty, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                    throw fail("size '\(printable(value))' is not a decimal number of bytes")
                }
                let n = value.count <= 19 ? UInt64(String(decoding: value, as: UTF8.self)) ?? .max : .max
                guard n <= UInt64(limits.maxEntrySize) else {
                    throw DebianPackageError(.limitExceeded, offset: start, field: "pax size",
                                             "pax size \(printable(value)) is larger than the \(limits.maxEntrySize) bytes allowed")
                }
                size = n
            default:
                if key.starts(with: Array("GNU.sparse.".utf8)) {
                    throw DebianPackageError(.unsupported, offset: start, field: "pax",
                                             "GNU sparse file (pax keyword '\(printable(key))') is not supported")
                }
            }
            i = end
        }
    }
}
