/// A path (or buffer name) the verifier does not judge, like Keylime's
/// `excludes`: measurements of such paths are accepted whatever their
/// digest. Two kinds:
///
/// - `glob`: matched against the whole path, byte for byte. `*` matches any
///   run of bytes, `/` included (`/var/log/*`), `?` one byte, `\` escapes the
///   next character; everything else is literal. Works for non-UTF-8 paths.
/// - `regex`: a Keylime exclude, matched like Python's `re.match`: anchored
///   at the start of the path, not at its end (`/tmp/` excludes all of /tmp).
///   Compiled with Swift's `Regex` (no ICU), matching Unicode scalars one at
///   a time as Python does (`.` is one code point, not one character). Python's
///   `(?P<name>…)` and `(?P=name)` are understood as they are; `\Z`, `$` and
///   `[` inside a class are translated (see `swiftPattern(fromPython:)`).
///   Lookbehind (`(?<=…)`, `(?<!…)`) is not supported and refused as an invalid
///   pattern. Only UTF-8 paths can match.
///
/// Excludes are a hole in the verdict by design: keep them few and narrow.
public struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    /// How `source` is interpreted.
    public enum Kind: String, Sendable, Hashable {
        case glob, regex
    }

    public let kind: Kind
    /// The pattern as written.
    public let source: String
    private let compiled: CompiledRegex?

    private init(kind: Kind, source: String, compiled: CompiledRegex?) {
        self.kind = kind
        self.source = source
        self.compiled = compiled
    }

    /// A glob over the whole path. Throws `.invalidPattern` for an empty pattern
    /// or a trailing `\`.
    public static func glob(_ pattern: String) throws(ReferenceError) -> PathPattern {
        guard !pattern.isEmpty else {
            throw ReferenceError(code: .invalidPattern, field: "glob", reason: "empty pattern")
        }
        var escaped = false
        for c in pattern.utf8 { escaped = !escaped && c == UInt8(ascii: "\\") }
        guard !escaped else {
            throw ReferenceError(code: .invalidPattern, field: "glob", reason: "\"\(pattern)\" ends with a lone backslash")
        }
        return PathPattern(kind: .glob, source: pattern, compiled: nil)
    }

    /// A Keylime-style regular expression. Throws `.invalidPattern` naming
    /// the pattern when it does not compile.
    public static func regex(_ pattern: String) throws(ReferenceError) -> PathPattern {
        do {
            let regex = try Regex(swiftPattern(fromPython: pattern)).matchingSemantics(.unicodeScalar)
            _ = try regex.prefixMatch(in: "")  // compiles it now: any error is reported here, not at the first path
            return PathPattern(kind: .regex, source: pattern, compiled: CompiledRegex(regex))
        } catch {
            throw ReferenceError(code: .invalidPattern, field: "regex",
                                 reason: "\"\(pattern)\" is not a valid regular expression: \(error)")
        }
    }

    /// True when the pattern covers `path`.
    public func matches(_ path: [UInt8]) -> Bool {
        switch kind {
        case .glob:
            return Self.globMatch(Array(source.utf8), path)
        case .regex:
            guard let compiled, let text = String(validating: path, as: UTF8.self) else { return false }
            return (try? compiled.regex.prefixMatch(in: text)) != nil
        }
    }

    /// The pattern as a Python regular expression for a Keylime policy's
    /// `excludes` (a glob becomes an anchored regex matching the same paths).
    public var keylimeRegex: String {
        switch kind {
        case .regex:
            return source
        case .glob:
            var out = "^"
            var escaped = false
            for scalar in source.unicodeScalars {
                if escaped {
                    out += Self.regexEscaped(scalar)
                    escaped = false
                    continue
                }
                switch scalar {
                case "\\": escaped = true
                case "*": out += ".*"
                case "?": out += "."
                default: out += Self.regexEscaped(scalar)
                }
            }
            return out + "\\Z"
        }
    }

    public var description: String { "\(kind.rawValue):\(source)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind && lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(source)
    }

    // MARK: - Implementation

    /// Wildcard match with `*` backtracking to the last star: O(pattern × path) at worst.
    static func globMatch(_ pattern: [UInt8], _ path: [UInt8]) -> Bool {
        // Pre-split into tokens so escapes are resolved once.
        enum Token: Equatable { case star, any, byte(UInt8) }
        var tokens = [Token]()
        var i = 0
        while i < pattern.count {
            switch pattern[i] {
            case UInt8(ascii: "*"): if tokens.last != .star { tokens.append(.star) }
            case UInt8(ascii: "?"): tokens.append(.any)
            case UInt8(ascii: "\\") where i + 1 < pattern.count:
                i += 1
                tokens.append(.byte(pattern[i]))
            default: tokens.append(.byte(pattern[i]))
            }
            i += 1
        }
        var t = 0, p = 0
        var starToken = -1, starPath = 0
        while p < path.count {
            if t < tokens.count {
                switch tokens[t] {
                case .star:
                    starToken = t
                    starPath = p
                    t += 1
                    continue
                case .any:
                    t += 1; p += 1
                    continue
                case .byte(let b) where b == path[p]:
                    t += 1; p += 1
                    continue
                default:
                    break
                }
            }
            guard starToken >= 0 else { return false }
            t = starToken + 1
            starPath += 1
            p = starPath
        }
        while t < tokens.count && tokens[t] == .star { t += 1 }
        return t == tokens.count
    }

    /// Python `re` syntax → Swift `Regex`, where the two differ:
    /// - `\Z` (Python: the absolute end; Swift: the end or before a final newline) → `\z`;
    /// - `$` outside a character class (Python, without the `m` flag: the end or before a
    ///   final `\n`; Swift: the end only) → `(?=\n?\z)`;
    /// - `.` outside a character class (Python, without the `s` flag: anything but `\n`;
    ///   Swift: anything but a line terminator, `\r` and U+2028 included) → `[^\n]`;
    /// - `[` inside a character class (Python: a literal; Swift: a nested class) → `\[`.
    /// Swift reads `(?P<n>…)` and `(?P=n)` as Python does.
    static func swiftPattern(fromPython pattern: String) -> String {
        let chars = Array(pattern.unicodeScalars)
        let flags = pythonInlineFlags(chars)
        let multiline = flags.contains("m"), dotAll = flags.contains("s")
        var out = String.UnicodeScalarView()
        var inClass = false
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count {
                if chars[i + 1] == "Z" && !inClass {
                    out.append(contentsOf: "\\z".unicodeScalars)
                } else {
                    out.append(c)
                    out.append(chars[i + 1])
                }
                i += 2
                continue
            }
            if inClass {
                if c == "]" {
                    inClass = false
                } else if c == "[" {
                    out.append("\\")
                }
                out.append(c)
                i += 1
                continue
            }
            switch c {
            case "[":
                inClass = true
                out.append(c)
                i += 1
                // A `]` first in the class (after an optional `^`) is a literal in Python.
                if i < chars.count, chars[i] == "^" { out.append(chars[i]); i += 1 }
                if i < chars.count, chars[i] == "]" { out.append(contentsOf: "\\]".unicodeScalars); i += 1 }
                continue
            case "$" where !multiline:
                out.append(contentsOf: "(?=\\n?\\z)".unicodeScalars)
            case "." where !dotAll:
                out.append(contentsOf: "[^\\n]".unicodeScalars)
            default:
                out.append(c)
            }
            i += 1
        }
        return String(out)
    }

    /// The letters of every inline flag group in a Python pattern: `(?im)`, `(?m:…)`, `(?-i:…)`.
    private static func pythonInlineFlags(_ chars: [Unicode.Scalar]) -> Set<Unicode.Scalar> {
        var flags = Set<Unicode.Scalar>()
        var i = 0
        while i + 2 < chars.count {
            if chars[i] == "\\" { i += 2; continue }
            if chars[i] == "(", chars[i + 1] == "?" {
                var j = i + 2
                var letters = [Unicode.Scalar]()
                while j < chars.count, "aiLmsux-".unicodeScalars.contains(chars[j]) { letters.append(chars[j]); j += 1 }
                if !letters.isEmpty, j < chars.count, chars[j] == ")" || chars[j] == ":" {
                    // Letters after '-' turn a flag off.
                    flags.formUnion(letters.prefix { $0 != "-" })
                }
            }
            i += 1
        }
        return flags
    }

    private static func regexEscaped(_ scalar: Unicode.Scalar) -> String {
        "\\.^$*+?()[]{}|".unicodeScalars.contains(scalar) ? "\\" + String(scalar) : String(scalar)
    }
}

/// A compiled regular expression; a `Regex` value is immutable and safe to
/// use from several threads.
private final class CompiledRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>
    init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
}
