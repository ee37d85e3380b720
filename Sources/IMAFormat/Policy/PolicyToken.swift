/// One whitespace-separated word of a policy line and where it starts.
struct PolicyToken: Sendable {
    let text: String
    /// 1-based column, counted in Unicode scalars.
    let column: Int

    /// Splits a line as the kernel does (on spaces and tabs), refusing control
    /// characters the kernel would keep inside a token and then reject.
    static func split(_ line: ArraySlice<Unicode.Scalar>, lineNumber: Int) throws(PolicyError) -> [PolicyToken] {
        var tokens: [PolicyToken] = []
        var current = String.UnicodeScalarView()
        var start = 0
        for (offset, scalar) in line.enumerated() {
            let column = offset + 1
            if scalar == " " || scalar == "\t" {
                if !current.isEmpty { tokens.append(PolicyToken(text: String(current), column: start)) }
                current = String.UnicodeScalarView()
                continue
            }
            if scalar.value < 0x20 || scalar.value == 0x7f {
                let what = scalar == "\r"
                    ? "carriage return (the file has CRLF line endings)"
                    : "control character U+\(String(scalar.value, radix: 16, uppercase: true))"
                throw PolicyError(code: .unexpectedCharacter, line: lineNumber, column: column,
                                  token: String(scalar), reason: "unexpected \(what)",
                                  expected: "words separated by spaces or tabs, lines ending in LF")
            }
            if current.isEmpty { start = column }
            current.append(scalar)
        }
        if !current.isEmpty { tokens.append(PolicyToken(text: String(current), column: start)) }
        return tokens
    }
}
