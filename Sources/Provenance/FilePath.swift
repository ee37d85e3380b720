#if canImport(Glibc)
import Glibc
#endif

/// A path as the kernel sees it: bytes, not text. Linux file names need not
/// be UTF-8, so paths are kept exactly and only escaped for display.
public struct FilePath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// The bytes as one block (the synthesized hash feeds an array to the
    /// hasher one element at a time: most of building a million-path allowlist).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// `self/name`.
    public func appending(_ name: [UInt8]) -> FilePath {
        var b = bytes
        if b.last != UInt8(ascii: "/") { b.append(UInt8(ascii: "/")) }
        b.append(contentsOf: name)
        return FilePath(bytes: b)
    }

    /// The path relative to `root` (without a leading slash), or nil if not under it.
    public func relative(to root: FilePath) -> FilePath? {
        var r = root.bytes
        while r.count > 1 && r.last == UInt8(ascii: "/") { r.removeLast() }
        if bytes == r { return FilePath(bytes: []) }
        let prefix = r == [UInt8(ascii: "/")] ? r : r + [UInt8(ascii: "/")]
        guard bytes.starts(with: prefix) else { return nil }
        return FilePath(bytes: Array(bytes[prefix.count...]))
    }

    /// The path as a String when it is valid UTF-8, else nil.
    public var utf8String: String? { String(validating: bytes, as: UTF8.self) }

    /// A readable, unambiguous rendering: printable UTF-8 as is, everything
    /// else (control characters, invalid bytes, backslash) as `\xNN`.
    public var description: String {
        if let s = utf8String, !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\\" }) {
            return s
        }
        var out = ""
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
                i += 1
                continue
            }
            // A valid multi-byte UTF-8 sequence stays readable.
            if b >= 0xc2, let len = Self.utf8SequenceLength(bytes, at: i),
               let s = String(validating: bytes[i..<i + len], as: UTF8.self) {
                out += s
                i += len
                continue
            }
            out += "\\x" + String(b, radix: 16).leftPadded(2)
            i += 1
        }
        return out
    }

    public static func < (lhs: FilePath, rhs: FilePath) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// Calls `body` with a NUL-terminated C string of the path.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var c = bytes.map { CChar(bitPattern: $0) }
        c.append(0)
        return try c.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    private static func utf8SequenceLength(_ b: [UInt8], at i: Int) -> Int? {
        let lead = b[i]
        let len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2
        return i + len <= b.count ? len : nil
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
