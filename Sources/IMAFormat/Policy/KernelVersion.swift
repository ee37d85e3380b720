/// A Linux kernel release, for asking whether a policy feature is supported.
public struct KernelVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    /// Version `major.minor.patch`.
    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses "6.1", "6.12.5" or a `uname -r` string such as "6.1.0-13-amd64"
    /// (anything after the numbers, from `-` or `+`, is ignored).
    public init?(_ text: String) {
        let numbers = text.prefix { $0 != "-" && $0 != "+" }
        let parts = numbers.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 6 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let major = Int(parts[0]), let minor = Int(parts[1])
        else { return nil }
        self.init(major, minor, parts.count == 3 ? Int(parts[2])! : 0)
    }

    /// "6.1" for x.y.0, otherwise "6.12.5".
    public var description: String { patch == 0 ? "\(major).\(minor)" : "\(major).\(minor).\(patch)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}
