/// The identity of a binary package, from the `control` file of its control.tar: what a
/// signature bundle is keyed by. Values are checked when parsed, so they are safe in file names.
public struct DebControl: Sendable, Equatable {
    /// `Package`: lower-case letters, digits, `+ - .`; at least two characters, starting with a letter or digit.
    public var package: String
    /// `Version`: `[epoch:]upstream[-revision]` of letters, digits and `. + ~ - :`.
    public var version: String
    /// `Architecture`: "amd64", "arm64", "all", …
    public var architecture: String

    public init(package: String, version: String, architecture: String) {
        self.package = package
        self.version = version
        self.architecture = architecture
    }

    /// Parses a control file (deb822: `Field: value` lines, continuation lines indented) and
    /// validates the three fields. Field names are case-insensitive; each may appear once.
    public init(parsing bytes: [UInt8]) throws(DebianPackageError) {
        var fields = [String: String]()
        var lastField: String?
        var lineNumber = 0
        for rawLine in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine
            if line.last == 0x0d { line.removeLast() }
            if line.isEmpty {
                // One paragraph: stop at the blank line that ends it.
                if !fields.isEmpty { break }
                continue
            }
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                guard lastField != nil else {
                    throw Self.error(nil, "line \(lineNumber): a continuation line before any field")
                }
                continue  // multi-line values (Description) are not needed here
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw Self.error(nil, "line \(lineNumber): expected 'Field: value', found '\(printable(line))'")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces()
            guard fields[name] == nil else { throw Self.error(name, "field '\(name)' appears twice") }
            fields[name] = value
            lastField = name
        }
        guard let package = fields["package"], !package.isEmpty else { throw Self.error("Package", "no Package field") }
        guard let version = fields["version"], !version.isEmpty else { throw Self.error("Version", "no Version field") }
        guard let architecture = fields["architecture"], !architecture.isEmpty else {
            throw Self.error("Architecture", "no Architecture field")
        }
        try Self.validate(package: package, version: version, architecture: architecture)
        self.init(package: package, version: version, architecture: architecture)
    }

    /// Checks the three values as Debian policy spells them (5.6.1, 5.6.8, 5.6.12).
    public static func validate(package: String, version: String, architecture: String) throws(DebianPackageError) {
        let p = Array(package.utf8)
        guard p.count >= 2, p.count <= 128, isLowerAlnum(p[0]),
              p.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
            throw error("Package", "invalid package name '\(printable(p))' (lower-case letters, digits, + - . ; at least two characters)")
        }
        let v = Array(version.utf8)
        let versionChars: (UInt8) -> Bool = {
            isLowerAlnum($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || [UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "~"), UInt8(ascii: "-"), UInt8(ascii: ":")].contains($0)
        }
        var upstream = v[...]
        if let colon = v.firstIndex(of: UInt8(ascii: ":")) {
            let epoch = v[..<colon]
            guard !epoch.isEmpty, epoch.count <= 9, epoch.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                throw error("Version", "invalid epoch in version '\(printable(v))' (digits before ':')")
            }
            upstream = v[(colon + 1)...]
        }
        guard v.count <= 256, !upstream.isEmpty, upstream.allSatisfy(versionChars),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(upstream.first!) || upstream.first!.isLetter,
              upstream.last != UInt8(ascii: "-") else {
            throw error("Version", "invalid version '\(printable(v))' ([epoch:]upstream[-revision] of letters, digits, . + ~ - :)")
        }
        let a = Array(architecture.utf8)
        guard !a.isEmpty, a.count <= 64, isLowerAlnum(a[0]), a.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) else {
            throw error("Architecture", "invalid architecture '\(printable(a))' (lower-case letters, digits and -)")
        }
    }

    /// `<package>_<version>_<architecture>`, with the epoch's ':' written "%3a" as apt names
    /// files in /var/cache/apt/archives: a file name unique for the three values.
    public var fileStem: String {
        "\(package)_\(version.replacingColons())_\(architecture)"
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
    }

    private static func error(_ field: String?, _ reason: String) -> DebianPackageError {
        DebianPackageError(.badControl, offset: 0, entry: "control", field: field, reason)
    }
}

private extension UInt8 {
    var isLetter: Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self) }
}

extension String {
    func trimmingSpaces() -> String {
        let u = Array(utf8)
        var lo = 0, hi = u.count
        while lo < hi && (u[lo] == 0x20 || u[lo] == 0x09) { lo += 1 }
        while hi > lo && (u[hi - 1] == 0x20 || u[hi - 1] == 0x09) { hi -= 1 }
        return String(decoding: u[lo..<hi], as: UTF8.self)
    }

    func replacingColons() -> String {
        var out = ""
        for c in self { if c == ":" { out += "%3a" } else { out.append(c) } }
        return out
    }
}
