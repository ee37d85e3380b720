/// A strict JSON (RFC 8259) syntax check, run on a document before it is decoded, so that one
/// document has one meaning for every reader. Parsers disagree on what RFC 8259 leaves open:
/// with a key twice in an object, Foundation's decoder keeps the first value while Python, jq
/// and Go keep the last; some skip a byte order mark, some replace bad UTF-8 or lone surrogates.
/// A document that passes has none of these:
///
/// - no byte order mark; only JSON whitespace between tokens; nothing after the value;
/// - strings of UTF-8 (no overlong forms, no surrogates), no raw control characters, only the
///   escapes JSON defines, `\u` surrogates only in pairs;
/// - numbers in JSON's grammar; where `Options.integerPaths` says so, integers (no fraction, no
///   exponent: `1`, not `1.0` or `1e0`);
/// - no key twice in any object at any depth, compared after unescaping and as Swift compares
///   strings (canonically equivalent keys are duplicates too);
/// - objects and arrays nested at most `Options.maxDepth` deep.
///
/// Pure: no I/O, no allocation proportional to string values (only keys are decoded). Every
/// problem is a `StrictJSONError` naming the JSON path and byte offset.
public enum StrictJSON {
    /// What `validate` requires beyond RFC 8259.
    public struct Options: Sendable, Hashable {
        /// The deepest nesting of objects and arrays accepted.
        public var maxDepth: Int
        /// Paths (object keys from the top) whose number values must be integers.
        public var integerPaths: Set<[String]>

        public init(maxDepth: Int = StrictJSON.defaultMaxDepth, integerPaths: Set<[String]> = []) {
            self.maxDepth = maxDepth
            self.integerPaths = integerPaths
        }
    }

    /// The default nesting limit.
    public static let defaultMaxDepth = 512

    /// Checks that `bytes` is one strict JSON value (see the type's documentation); throws the
    /// first problem found.
    public static func validate(_ bytes: [UInt8], options: Options = Options()) throws(StrictJSONError) {
        _ = try bytes.withUnsafeBufferPointer { run($0, options: options, capturing: []) }.get()
    }

    /// `validate`, and where the string values at `capturing` (object keys from the top) lie in
    /// `bytes`: the range between their quotes, for strings written without escapes (so the
    /// bytes are the value). A caller can then read a large value (a base64 log) straight from
    /// the document instead of through a decoder's copy.
    public static func validate(_ bytes: [UInt8], options: Options = Options(),
                                capturing: Set<[String]>) throws(StrictJSONError) -> [[String]: Range<Int>] {
        try bytes.withUnsafeBufferPointer { run($0, options: options, capturing: capturing) }.get()
    }

    /// `validate` on a slice (one line of a JSON Lines file, say); offsets count from the slice's start.
    public static func validate(_ bytes: ArraySlice<UInt8>, options: Options = Options()) throws(StrictJSONError) {
        _ = try bytes.withUnsafeBufferPointer { run($0, options: options, capturing: []) }.get()
    }

    /// One parse of `buffer`, as a `Result` (the buffer closures are not typed-throws).
    private static func run(_ buffer: UnsafeBufferPointer<UInt8>, options: Options,
                            capturing: Set<[String]>) -> Result<[[String]: Range<Int>], StrictJSONError> {
        var parser = Parser(buffer, options: options, capturing: capturing)
        do throws(StrictJSONError) {
            try parser.run()
            return .success(parser.captured)
        } catch {
            return .failure(error)
        }
    }
}

/// One component of the path to the current value.
enum PathComponent {
    case key(String)
    case index(Int)
}

/// The parser: an explicit stack instead of recursion, so depth costs no call stack.
struct Parser {
    private let b: UnsafeBufferPointer<UInt8>
    private let options: Options
    private var i = 0
    /// Open containers: the keys seen so far (with their offsets) for objects, nil for arrays.
    private var open: [[String: Int]?] = []
    /// The path to the current value: one component per open container once a key or an
    /// element has started.
    private var path: [PathComponent] = []

    /// String values to locate (key paths), and where they were found (unescaped only).
    private let capturing: Set<[String]>
    private(set) var captured: [[String]: Range<Int>] = [:]
    /// Whether the string just read had a backslash escape.
    private var stringHadEscape = false

    typealias Options = StrictJSON.Options

    init(_ bytes: UnsafeBufferPointer<UInt8>, options: Options, capturing: Set<[String]> = []) {
        b = bytes
        self.options = options
        self.capturing = capturing
    }

    mutating func run() throws(StrictJSONError) {
        try rejectByteOrderMark()
        var expectingValue = true
        while true {
            if expectingValue, try value() {
                continue  // a container opened: its first value comes next
            }
            // After a complete value: close containers or move to the next member.
            skipWhitespace()
            guard let top = open.last else {
                guard i == b.count else { throw fail(.trailingData, "unexpected \(describe(i)) after the JSON value") }
                return
            }
            guard i < b.count else { throw fail(.unexpectedEnd, "the document ends inside \(top == nil ? "an array" : "an object")") }
            switch b[i] {
            case UInt8(ascii: ","):
                i += 1
                if top == nil {
                    if case .index(let n) = path.last { path[path.count - 1] = .index(n + 1) }
                } else {
                    path.removeLast()
                    try key()
                }
                expectingValue = true
            case UInt8(ascii: "]") where top == nil, UInt8(ascii: "}") where top != nil:
                i += 1
                open.removeLast()
                path.removeLast()
                expectingValue = false
            default:
                throw fail(.unexpectedCharacter, "expected ',' or '\(top == nil ? "]" : "}")', found \(describe(i))")
            }
        }
    }

    /// One value. A non-empty container is opened (and an object's first key read) and true
    /// returned: its first value comes next. No recursion, so depth costs no call stack.
    private mutating func value() throws(StrictJSONError) -> Bool {
        skipWhitespace()
        guard i < b.count else { throw fail(.unexpectedEnd, "the document ends where a value is expected") }
        switch b[i] {
        case UInt8(ascii: "{"):
            try openContainer()
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                return false
            }
            open.append([:])
            try key()
            return true
        case UInt8(ascii: "["):
            try openContainer()
            i += 1
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "]") {
                i += 1
                return false
            }
            open.append(nil)
            path.append(.index(0))
            return true
        case UInt8(ascii: "\""):
            let start = i
            _ = try string(decoding: false)
            if !capturing.isEmpty, !stringHadEscape, let keys = keyPath(), capturing.contains(keys) {
                captured[keys] = (start + 1)..<(i - 1)
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            throw fail(.unexpectedCharacter, "expected a value, found \(describe(i))")
        }
        return false
    }

    private mutating func openContainer() throws(StrictJSONError) {
        guard open.count < options.maxDepth else {
            throw fail(.tooDeep, "objects and arrays are nested more than \(options.maxDepth) deep")
        }
    }

    /// A member's key and the colon after it; refuses a key the object already has.
    private mutating func key() throws(StrictJSONError) {
        skipWhitespace()
        guard i < b.count else { throw fail(.unexpectedEnd, "the document ends where a key is expected") }
        guard b[i] == UInt8(ascii: "\"") else { throw fail(.unexpectedCharacter, "expected a string key, found \(describe(i))") }
        let start = i
        let name = try string(decoding: true)!
        if let first = open[open.count - 1]![name] {
            path.append(.key(name))
            throw StrictJSONError(code: .duplicateKey, path: render(path), offset: start,
                                  reason: "duplicate key \(quoted(name)) (first at byte \(first)); readers disagree on which value counts")
        }
        open[open.count - 1]![name] = start
        path.append(.key(name))
        skipWhitespace()
        guard i < b.count else { throw fail(.unexpectedEnd, "the document ends where ':' is expected") }
        guard b[i] == UInt8(ascii: ":") else { throw fail(.unexpectedCharacter, "expected ':' after the key, found \(describe(i))") }
        i += 1
    }

    // MARK: - Scalars

    /// A string from its opening quote; its UTF-8 bytes when `decoding`.
    /// The index of the first 8-byte word from `start` holding a byte that is
    /// not printable ASCII or is '"' or '\' (SWAR: a zero-byte test per class).
    static func skipPlainASCII(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = b.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        var i = start
        while i + 8 <= b.count {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            // A byte >= 0x80, or < 0x20 (w - 0x20 borrows into its high bit), or '"' or '\'.
            if w & highs != 0 || (w &- 0x2020_2020_2020_2020) & ~w & highs != 0
                || hasZeroByte(w ^ 0x2222_2222_2222_2222) || hasZeroByte(w ^ 0x5C5C_5C5C_5C5C_5C5C) {
                return i
            }
            i += 8
        }
        return i
    }

    private mutating func string(decoding: Bool) throws(StrictJSONError) -> String? {
        i += 1
        stringHadEscape = false
        var out = [UInt8]()
        var runStart = i
        while true {
            // The common case: printable ASCII other than '"' and '\', eight bytes at a time
            // (an evidence's base64 log is most of a document), then byte by byte.
            i = Self.skipPlainASCII(b, from: i)
            while i < b.count, b[i] >= 0x20, b[i] < 0x80, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\") { i += 1 }
            guard i < b.count else { throw fail(.unexpectedEnd, "the document ends inside a string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                if decoding { out.append(contentsOf: b[runStart..<i]) }
                i += 1
                return decoding ? String(decoding: out, as: UTF8.self) : nil
            }
            if c < 0x20 {
                throw fail(.controlCharacter, "control character U+\(hex4(UInt32(c))) in a string: escape it")
            }
            if c >= 0x80 {
                try utf8Sequence()
                continue
            }
            // A backslash escape.
            stringHadEscape = true
            if decoding { out.append(contentsOf: b[runStart..<i]) }
            let escapeStart = i
            guard i + 1 < b.count else { throw fail(.unexpectedEnd, "the document ends inside an escape") }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hexEscape(at: escapeStart)
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw StrictJSONError(code: .loneSurrogate, path: render(path), offset: escapeStart,
                                              reason: "\\u\(hex4(scalar)) is half a surrogate pair with no low half after it")
                    }
                    let lowStart = i
                    i += 2
                    let low = try hexEscape(at: lowStart)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw StrictJSONError(code: .loneSurrogate, path: render(path), offset: escapeStart,
                                              reason: "\\u\(hex4(scalar)) is followed by \\u\(hex4(low)), not a low surrogate")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw StrictJSONError(code: .loneSurrogate, path: render(path), offset: escapeStart,
                                          reason: "\\u\(hex4(scalar)) is a low surrogate with no high half before it")
                }
                if decoding { appendUTF8(scalar, to: &out) }
            default:
                i = escapeStart
                throw fail(.invalidEscape, "\\\(printable(e)) is not a JSON escape")
            }
            runStart = i
        }
    }

    /// Four hex digits after `\u` (the escape starts at `start`).
    private mutating func hexEscape(at start: Int) throws(StrictJSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard i < b.count else { throw fail(.unexpectedEnd, "the document ends inside a \\u escape") }
            let c = b[i]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default:
                throw StrictJSONError(code: .invalidEscape, path: render(path), offset: start,
                                      reason: "a \\u escape needs four hex digits")
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }

    /// One multi-byte UTF-8 sequence at `i` (Unicode 15, table 3-7: no overlong forms, no
    /// surrogates, nothing above U+10FFFF).
    private mutating func utf8Sequence() throws(StrictJSONError) {
        let lead = b[i]
        let count: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: count = 1
        case 0xE0: count = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED: count = 2; upper = 0x9F
        case 0xF0: count = 3; lower = 0x90
        case 0xF1...0xF3: count = 3
        case 0xF4: count = 3; upper = 0x8F
        default: throw fail(.invalidUTF8, "byte 0x\(hex2(lead)) cannot start a UTF-8 character")
        }
        for k in 1...count {
            guard i + k < b.count else { throw fail(.unexpectedEnd, "the document ends inside a UTF-8 character") }
            let c = b[i + k]
            let (lo, hi) = k == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
            guard c >= lo, c <= hi else {
                throw fail(.invalidUTF8, "bytes \((0...k).map { "0x" + hex2(b[i + $0]) }.joined(separator: " ")) are not UTF-8")
            }
        }
        i += count + 1
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func number() throws(StrictJSONError) {
        let start = i
        func digits(_ p: inout Parser) -> Int {
            let s = p.i
            while p.i < p.b.count, p.b[p.i] >= UInt8(ascii: "0"), p.b[p.i] <= UInt8(ascii: "9") { p.i += 1 }
            return p.i - s
        }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else {
            throw fail(.invalidNumber, "a number needs a digit after '-'", at: start)
        }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
                throw fail(.invalidNumber, "a number cannot have a leading zero", at: start)
            }
        } else {
            _ = digits(&self)
        }
        var integer = true
        if i < b.count, b[i] == UInt8(ascii: ".") {
            integer = false
            i += 1
            guard digits(&self) > 0 else { throw fail(.invalidNumber, "a number needs digits after '.'", at: start) }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integer = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw fail(.invalidNumber, "a number needs digits in its exponent", at: start) }
        }
        if !integer, !options.integerPaths.isEmpty, let keys = keyPath(), options.integerPaths.contains(keys) {
            let literal = String(decoding: b[start..<min(i, start + 40)], as: UTF8.self)
            throw fail(.notAnInteger, "is \(literal); an integer is required (no fraction or exponent)", at: start)
        }
    }

    private mutating func literal(_ word: StaticString) throws(StrictJSONError) {
        let start = i
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for c in expected {
            guard i < b.count, b[i] == c else {
                throw fail(.unexpectedCharacter, "expected \(word), found \(describe(start))", at: start)
            }
            i += 1
        }
    }

    // MARK: - Helpers

    private mutating func rejectByteOrderMark() throws(StrictJSONError) {
        let marks: [(bytes: [UInt8], name: String)] = [
            ([0xEF, 0xBB, 0xBF], "UTF-8"), ([0x00, 0x00, 0xFE, 0xFF], "UTF-32"), ([0xFF, 0xFE, 0x00, 0x00], "UTF-32"),
            ([0xFE, 0xFF], "UTF-16"), ([0xFF, 0xFE], "UTF-16"),
        ]
        for mark in marks where b.count >= mark.bytes.count && b.prefix(mark.bytes.count).elementsEqual(mark.bytes) {
            throw fail(.byteOrderMark, "the document starts with a \(mark.name) byte order mark; JSON is UTF-8 without one", at: 0)
        }
    }

    private mutating func skipWhitespace() {
        while i < b.count {
            switch b[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// The current path as object keys only, or nil when it goes through an array.
    private func keyPath() -> [String]? {
        var keys = [String]()
        keys.reserveCapacity(path.count)
        for component in path {
            guard case .key(let k) = component else { return nil }
            keys.append(k)
        }
        return keys
    }

    private func fail(_ code: StrictJSONError.Code, _ reason: String, at offset: Int? = nil) -> StrictJSONError {
        StrictJSONError(code: code, path: render(path), offset: offset ?? i, reason: reason)
    }

    /// `a.b[3].c`, keys shortened to 64 characters, control characters escaped.
    private func render(_ path: [PathComponent]) -> String {
        var out = ""
        for component in path {
            switch component {
            case .index(let n): out += "[\(n)]"
            case .key(let k):
                if !out.isEmpty { out += "." }
                out += printableKey(k)
            }
        }
        return out
    }

    private func printableKey(_ key: String) -> String {
        var out = ""
        for (n, scalar) in key.unicodeScalars.enumerated() {
            if n == 64 { return out + "…" }
            out += scalar.value < 0x20 || scalar.value == 0x7F ? "\\u\(hex4(scalar.value))" : String(scalar)
        }
        return out
    }

    private func quoted(_ key: String) -> String { "\"\(printableKey(key))\"" }

    private func describe(_ offset: Int) -> String {
        guard offset < b.count else { return "the end of the document" }
        let c = b[offset]
        return c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(hex2(c))"
    }

    private func printable(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? String(Character(Unicode.Scalar(c))) : "x\(hex2(c))"
    }
}

private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    guard let s = Unicode.Scalar(scalar) else { return }
    out.append(contentsOf: String(s).utf8)
}

private func hex2(_ v: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(v >> 4)], digits[Int(v & 15)]])
}

private func hex4(_ v: UInt32) -> String { hex2(UInt8((v >> 8) & 0xFF)) + hex2(UInt8(v & 0xFF)) }
