import Foundation

/// A path (or buffer name) the verifier does not judge, like Keylime's
/// `excludes`: measurements of such paths are accepted whatever their
/// digest. Two kinds:
///
/// - `glob`: matched against the whole path, byte for byte. `*` matches any
///   run of bytes, `/` included (`/var/log/*`), `?` one byte, `\` escapes the
///   next character; everything else is literal. Works for non-UTF-8 paths.
/// - `regex`: a Keylime exclude, matched like Python's `re.match`: anchored
///   at the start of the path, not at its end (`/tmp/` excludes all of /tmp).
///   Compiled with ICU (NSRegularExpression) after translating the Python
///   forms `(?P<name>`, `(?P=name)` and `\Z`. Only UTF-8 paths can match.
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
            let regex = try NSRegularExpression(pattern: icuPattern(fromPython: pattern))
            return PathPattern(kind: .regex, source: pattern, compiled: CompiledRegex(regex))
        } catch {
            throw ReferenceError(code: .invalidPattern, field: "regex",
                                 reason: "\"\(pattern)\" is not a valid regular expression: \(error.localizedDescription)")
        }
    }

    /// True when the pattern covers `path`.
    public func matches(_ path: [UInt8]) -> Bool {
        switch kind {
        case .glob:
            return Self.globMatch(Array(source.utf8), path)
        case .regex:
            guard let compiled, let text = String(validating: path, as: UTF8.self) else { return false }
            let range = NSRange(text.startIndex..., in: text)
            return compiled.regex.firstMatch(in: text, options: [.anchored], range: range) != nil
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

    /// Python `re` syntax → ICU: `(?P<n>` → `(?<n>`, `(?P=n)` → `\k<n>`,
    /// `\Z` (Python: absolute end) → `\z`.
    static func icuPattern(fromPython pattern: String) -> String {
        let chars = Array(pattern)
        var out = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count {
                out += chars[i + 1] == "Z" ? "\\z" : String([c, chars[i + 1]])
                i += 2
                continue
            }
            if c == "(", chars[i...].starts(with: Array("(?P<")) {
                out += "(?<"
                i += 4
                continue
            }
            if c == "(", chars[i...].starts(with: Array("(?P=")), let close = chars[(i + 4)...].firstIndex(of: ")") {
                out += "\\k<" + String(chars[(i + 4)..<close]) + ">"
                i = close + 1
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    private static func regexEscaped(_ scalar: Unicode.Scalar) -> String {
        "\\.^$*+?()[]{}|".unicodeScalars.contains(scalar) ? "\\" + String(scalar) : String(scalar)
    }
}

/// A compiled regular expression; NSRegularExpression is immutable and safe
/// to use from several threads.
private final class CompiledRegex: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}
