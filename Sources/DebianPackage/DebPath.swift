/// The path dpkg installs a data.tar entry at: "./usr/bin/hello" → "/usr/bin/hello".
///
/// dpkg skips leading "./" and "/" and joins the rest under the root. Signet is stricter, so that
/// a bundle's path is exactly the name dpkg records and nothing can point outside the root or name
/// one file two ways: an absolute name, an empty, "." or ".." component, a NUL or a newline is
/// refused (`.unsafePath`).
public enum DebPath {
    /// The installed path ("/" + the normalised name); "/" for the archive's root directory ("./").
    public static func installed(_ name: [UInt8], offset: Int64 = 0) throws(DebianPackageError) -> [UInt8] {
        let shown = printable(name)
        func unsafe(_ reason: String) -> DebianPackageError {
            DebianPackageError(.unsafePath, offset: offset, entry: shown, field: "name", "unsafe path '\(shown)': \(reason)")
        }
        guard name.first != UInt8(ascii: "/") else { throw unsafe("absolute name (expected './…')") }
        guard !name.contains(0) else { throw unsafe("NUL byte in the name") }
        guard !name.contains(0x0a) else { throw unsafe("newline in the name (dpkg refuses it)") }
        var rest = name[...]
        while rest.starts(with: [UInt8(ascii: "."), UInt8(ascii: "/")]) {
            rest = rest.dropFirst(2)
            while rest.first == UInt8(ascii: "/") { rest = rest.dropFirst() }
        }
        if rest.isEmpty || rest.elementsEqual([UInt8(ascii: ".")]) { return [UInt8(ascii: "/")] }
        for component in rest.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty { throw unsafe("empty path component ('//' or a trailing '/')") }
            if component.elementsEqual([UInt8(ascii: ".")]) { throw unsafe("'.' component") }
            if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) { throw unsafe("'..' component (path traversal)") }
        }
        return [UInt8(ascii: "/")] + rest
    }
}
