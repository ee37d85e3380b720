#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCrypto
import Provenance
import IMAFormat

/// Writes to stdout/stderr by file descriptor (the C `stderr` global is not
/// concurrency-safe in Swift 6).
package enum Console {
    package static func out(_ text: String) { write(1, text + "\n") }
    package static func err(_ text: String) { write(2, text + "\n") }
    package static func error(_ text: String) { write(2, "signet: error: " + text + "\n") }
    package static func warning(_ text: String) { write(2, "signet: warning: " + text + "\n") }

    package static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    package static var stderrIsTerminal: Bool { isatty(2) == 1 }
}

/// Exit codes shared by every command.
package enum Exit {
    /// Some file failed; the run went through.
    package static let someFailed = ExitCode(1)
    /// Bad configuration or input (key, certificate, manifest): nothing was done.
    package static let badInput = ExitCode(2)
    /// Interrupted by SIGINT/SIGTERM; rerun to finish.
    package static let interrupted = ExitCode(130)
}

/// Runs `body`, turning Signet's typed errors (each names the file, line or
/// field at fault in its description) into one line on stderr and exit code 2.
package func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        Console.error("\(error)")
        throw Exit.badInput
    }
}

/// A problem with the command line or environment, stated for the user.
package struct UsageError: Error, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Minimal JSON value writer for `--json` output (deterministic key order).
package enum JSON {
    package static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += "\\u" + String(u.value, radix: 16).leftPad(4)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// `{"a":1,"b":"x"}` from ordered pairs whose values are already JSON.
    package static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    package static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    /// A path: text when UTF-8, else hex with a `path_hex` key (see `pathPairs`).
    package static func pathPairs(_ path: FilePath) -> [(String, String)] {
        if let s = path.utf8String { return [("path", string(s))] }
        return [("path_hex", string(Hex.encode(path.bytes)))]
    }
}

extension String {
    /// Without leading and trailing whitespace and newlines (Unicode's, as Foundation's
    /// `.whitespacesAndNewlines`), without Foundation.
    package func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }

    package func leftPad(_ width: Int, _ pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

/// `x` with `digits` decimals ("0.05"), without Foundation's formatter.
package func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((x * scale).rounded())
    let whole = n / Int(scale), frac = abs(n % Int(scale))
    return digits == 0 ? String(whole) : "\(whole).\(String(frac).leftPad(digits))"
}
