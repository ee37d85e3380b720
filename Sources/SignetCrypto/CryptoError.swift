import COpenSSL

/// Why a key, certificate or signature operation failed, with what the user
/// needs to fix it: the file, and what was expected.
public struct CryptoError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        case fileUnreadable
        case notAPrivateKey
        case passphraseRequired
        case wrongPassphrase
        case notACertificate
        case keyCertificateMismatch
        case certificateExpired
        case certificateNotYetValid
        case notASigningCertificate
        case unsupportedKey
        case invalidSubject
        case operationFailed
    }

    public let code: Code
    /// The file concerned, when there is one.
    public let path: String?
    public let reason: String

    public init(_ code: Code, path: String? = nil, _ reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String {
        if let path { return "\(path): \(reason)" }
        return reason
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// An OpenSSL failure: `what` failed, followed by OpenSSL's own error queue (drained).
    static func openssl(_ what: String, path: String? = nil, code: Code = .operationFailed) -> CryptoError {
        CryptoError(code, path: path, "\(what)\(OpenSSLErrors.drain())")
    }
}

enum OpenSSLErrors {
    /// Empties OpenSSL's thread-local error queue and returns it as ": a; b", or "".
    static func drain() -> String {
        var messages = [String]()
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            let text = String(nulTerminated: buf)
            // "error:1E08010C:DECODER routines::unsupported" → keep the human part.
            let human = text.split(separator: ":", omittingEmptySubsequences: false).suffix(2)
                .filter { !$0.isEmpty }.joined(separator: ": ")
            messages.append(human.isEmpty ? text : human)
        }
        return messages.isEmpty ? "" : ": " + messages.joined(separator: "; ")
    }

    static func clear() { ERR_clear_error() }
}

extension String {
    /// The text of a NUL-terminated C buffer.
    init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
