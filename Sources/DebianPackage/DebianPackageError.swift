import Decompression

/// Why a .deb, an ar archive or a tar stream was refused: what kind of failure, where (the ar
/// member, the byte offset, the tar entry, the field) and what was expected and found.
///
/// Offsets are in the .deb file for the ar level (`member == nil`), and in the member's
/// decompressed tar stream for tar errors; decompression errors carry the compressed offset inside
/// the member and `memberOffset`, where the member's data starts in the file.
public struct DebianPackageError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure; tests compare on this.
    public enum Code: Equatable, Sendable {
        /// The input ended inside a header, a member, an entry or its padding.
        case truncated
        /// Not an ar archive, or a tar header without the ustar/GNU magic.
        case badMagic
        /// A header field that does not parse (a size that is not a number, a bad terminator).
        case badHeader
        /// A tar header whose checksum does not match its bytes.
        case badChecksum
        /// A tar entry type or a compression Signet does not read (sparse files, bzip2, …).
        case unsupported
        /// A size or count beyond the limits in `DebianPackageLimits`.
        case limitExceeded
        /// An entry name that could escape the installation root or is ambiguous (`..`,
        /// absolute, empty or `.` components, newline, NUL).
        case unsafePath
        /// The same path twice in the data archive.
        case duplicatePath
        /// A hard link to something that is not an earlier regular file of the archive.
        case badHardlink
        /// A malformed pax extended header record.
        case badPax
        /// A .deb whose members are missing, out of order or unknown, or whose format version is not 2.x.
        case badStructure
        /// A control file without a valid Package, Version or Architecture.
        case badControl
        /// The compressed member could not be decoded (see `decompression`).
        case decompression
    }

    public let code: Code
    /// The ar member ("data.tar.xz"), nil for errors in the ar structure itself.
    public var member: String?
    /// Where the member's data starts in the .deb (set with `member`).
    public var memberOffset: Int64?
    /// Byte offset: in the .deb file (ar level), in the decompressed tar stream (tar level), or
    /// in the compressed member (decompression).
    public var offset: Int64
    /// The tar entry's name as written in the archive, when the error concerns one.
    public var entry: String?
    /// The header field at fault ("size", "chksum", "path").
    public var field: String?
    public let reason: String
    /// For `.decompression`: the decoder's own error.
    public var decompression: DecompressionError?

    public init(_ code: Code, offset: Int64, entry: String? = nil, field: String? = nil, _ reason: String) {
        self.code = code
        self.offset = offset
        self.entry = entry
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var location: String
        if let member {
            location = member + (memberOffset.map { " (member data at byte \($0) of the .deb)" } ?? "")
            location += code == .decompression ? "" : ", tar byte \(offset)"
        } else {
            location = "byte \(offset)"
        }
        if let entry { location += ", entry '\(entry)'" }
        if let field { location += ", field '\(field)'" }
        return "\(location): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// The same error, located inside `member` (whose data starts at `memberOffset` in the .deb).
    func inMember(_ member: String, at memberOffset: Int64) -> Self {
        var copy = self
        if copy.member == nil {
            copy.member = member
            copy.memberOffset = memberOffset
        }
        return copy
    }

    static func truncated(_ what: String, offset: Int64, entry: String? = nil) -> Self {
        .init(.truncated, offset: offset, entry: entry, "the input ends inside \(what) (truncated)")
    }

    static func limit(_ what: String, _ value: Int64, max: Int64, offset: Int64, entry: String? = nil, field: String? = nil) -> Self {
        .init(.limitExceeded, offset: offset, entry: entry, field: field,
              "\(what) of \(value) bytes is larger than the \(max) allowed")
    }

    static func decompression(_ error: DecompressionError, member: String, memberOffset: Int64) -> Self {
        var e = DebianPackageError(.decompression, offset: error.offset, error.description)
        e.member = member
        e.memberOffset = memberOffset
        e.decompression = error
        return e
    }
}

/// Bytes of a name as text for messages (invalid UTF-8 replaced, control characters escaped).
func printable(_ bytes: some Collection<UInt8>) -> String {
    var out = ""
    for scalar in String(decoding: Array(bytes.prefix(512)), as: UTF8.self).unicodeScalars {
        if scalar.value < 0x20 || scalar.value == 0x7f {
            out += "\\x" + String(scalar.value, radix: 16, uppercase: false).leftPadded(2)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return bytes.count > 512 ? out + "…" : out
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
