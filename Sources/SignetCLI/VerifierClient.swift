#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser
import SignetCrypto
import SignetHTTPClient
import VerifierAPI

/// Where the verifier is and how to reach it, for `agent run` and `fleet`.
package struct VerifierConnectionOptions: ParsableArguments {
    package init() {}

    @Option(help: ArgumentHelp("The verifier's base URL (https://host:port; http only to loopback).", valueName: "url"))
    package var verifier: String
    @Option(name: .customLong("ca"), help: ArgumentHelp("CA certificate (PEM) the verifier's TLS certificate chains to.", valueName: "file"))
    package var caFile: String?
    @Option(help: ArgumentHelp("Seconds to wait for the verifier.", valueName: "s")) package var timeout: Double = 30

    package func client() throws -> VerifierClient {
        if let reason = VerifierURLCheck.refusal(verifier) {
            throw UsageError("--verifier '\(verifier)': \(reason)")
        }
        return VerifierClient(base: verifier.hasSuffix("/") ? String(verifier.dropLast()) : verifier,
                              http: HTTPClient(tls: HTTPTLSOptions(caFile: caFile), timeoutSeconds: timeout))
    }
}

/// Which verifier URLs the agent and the fleet CLI may send a token to: any https:// URL, and
/// plain http:// only to this machine. The host is parsed, not prefix-matched, so that
/// `http://127.evil.example`, `http://localhost.evil.example` or `http://127.0.0.1@evil.example`
/// (user info, then another host) never count as loopback.
package enum VerifierURLCheck {
    /// Why `url` is refused, or nil when it may be used.
    package static func refusal(_ url: String) -> String? {
        guard let sep = url.firstRange(of: "://") else { return "not a URL (expected https://host[:port])" }
        let scheme = url[..<sep.lowerBound].lowercased()
        let rest = url[sep.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty else { return "no host" }
        guard !authority.contains("@") else { return "user information in the URL is not allowed (send credentials with the token file)" }
        // Only characters a host and port can have; anything else (a backslash, a space, a
        // percent-escape) is read differently by different URL parsers.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        guard authority.allSatisfy({ allowed.contains($0) }) else { return "the host part has characters a host name cannot have" }
        switch scheme {
        case "https": return nil
        case "http":
            return isLoopback(authority: String(authority))
                ? nil : "plain http is allowed only to loopback (127.0.0.0/8, [::1] or localhost); use https://"
        default: return "unsupported scheme '\(scheme)' (expected https://, or http:// to loopback)"
        }
    }

    /// The host of `authority` (host[:port]) is an IPv4 literal in 127.0.0.0/8, `[::1]`, or
    /// exactly `localhost`; the port, if any, is a number.
    static func isLoopback(authority: String) -> Bool {
        var host = authority[...]
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let after = host[host.index(after: close)...]
            host = host[...close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
        } else if let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), Int(port)! <= 65535 else { return false }
        }
        if host == "[::1]" || host.lowercased() == "localhost" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        for o in octets {
            guard !o.isEmpty, o.count <= 3, o.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(o), v <= 255 else { return false }
        }
        return octets[0] == "127"
    }
}

/// A refusal from the verifier: its HTTP status and error document.
package struct VerifierRefusal: Error, CustomStringConvertible {
    package let status: Int
    package let error: APIError
    package var description: String { "the verifier refused (HTTP \(status)): \(error)" }
}

/// JSON calls to the verifier service.
package final class VerifierClient {
    package let base: String
    package let http: HTTPClient

    package init(base: String, http: HTTPClient) { self.base = base; self.http = http }

    package func call<Response: Decodable>(_ method: String, _ path: String, token: [UInt8]?, body: [UInt8]?) throws -> Response {
        var headers = ["Accept": "application/json"]
        if body != nil { headers["Content-Type"] = "application/json" }
        if let token { headers["Authorization"] = "Bearer " + TokenEncoding.encode(token) }
        let response = try http.request(method, base + path, headers: headers, body: body)
        guard (200..<300).contains(response.status) else {
            let error = (try? JSONDecoder().decode(APIError.self, from: Data(response.body)))
                ?? APIError(code: "http-\(response.status)", message: String(decoding: response.body.prefix(300), as: UTF8.self))
            throw VerifierRefusal(status: response.status, error: error)
        }
        do { return try JSONDecoder().decode(Response.self, from: Data(response.body)) } catch {
            throw UsageError("\(base + path): the verifier's answer is not the expected JSON: \(error)")
        }
    }

    package func call<Request: Encodable, Response: Decodable>(_ method: String, _ path: String, token: [UInt8]?, json: Request) throws -> Response {
        try call(method, path, token: token, body: Array(try JSONEncoder().encode(json)))
    }
}

/// Reads a bearer token file (base64url text, as `verifier serve` writes it).
package func readToken(_ path: String) throws -> [UInt8] {
    let text = String(decoding: try FileBytes.read(path, limit: 4096), as: UTF8.self).trimmingWhitespace()
    guard let token = TokenEncoding.decode(text), token.count >= 16 else {
        throw UsageError("\(path): not a token (expected base64url text of at least 16 bytes)")
    }
    return token
}

/// "30s", "2m", "1h", "500ms", or plain seconds.
package struct DurationArgument: ExpressibleByArgument, Sendable {
    package let milliseconds: Int64
    package init(milliseconds: Int64) { self.milliseconds = milliseconds }
    package init?(argument: String) {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, factor) in units where argument.hasSuffix(suffix) {
            guard let n = Double(argument.dropLast(suffix.count)), n >= 0 else { return nil }
            milliseconds = Int64(n * factor)
            return
        }
        guard let n = Double(argument), n >= 0 else { return nil }
        milliseconds = Int64(n * 1000)
    }
    package var seconds: Double { Double(milliseconds) / 1000 }
}

/// Standard base64 for JSON fields.
package enum Base64Text {
    package static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    package static func decode(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map { [UInt8]($0) } }
}
