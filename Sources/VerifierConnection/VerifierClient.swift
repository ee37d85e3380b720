#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SignetHTTPClient
import VerifierAPI

/// Which verifier URLs the agent and the fleet CLI may send a token to: any https:// URL, and
/// plain http:// only to this machine. The host is parsed, not prefix-matched, so that
/// `http://127.evil.example`, `http://localhost.evil.example` or `http://127.0.0.1@evil.example`
/// (user info, then another host) never count as loopback.
public enum VerifierURLCheck {
    /// Why `url` is refused, or nil when it may be used.
    public static func refusal(_ url: String) -> String? {
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
public struct VerifierRefusal: Error, CustomStringConvertible {
    public let status: Int
    public let error: APIError
    public var description: String { "the verifier refused (HTTP \(status)): \(error)" }
}

/// The verifier's answer is not the JSON the API defines.
public struct VerifierAnswerError: Error, CustomStringConvertible {
    public let url: String
    public let reason: String
    public var description: String { "\(url): the verifier's answer is not the expected JSON: \(reason)" }
}

/// JSON calls to the verifier service: the one API client of the agent (`agent run`), the fleet
/// command line and the fleet benchmark.
public final class VerifierClient {
    public let base: String
    public let http: HTTPClient

    public init(base: String, http: HTTPClient) { self.base = base; self.http = http }

    /// The raw response (any status), for callers that time or inspect it.
    public func raw(_ method: String, _ path: String, token: [UInt8]?, body: [UInt8]?) throws -> HTTPResponse {
        var headers = ["Accept": "application/json"]
        if body != nil { headers["Content-Type"] = "application/json" }
        if let token { headers["Authorization"] = "Bearer " + TokenEncoding.encode(token) }
        return try http.request(method, base + path, headers: headers, body: body)
    }

    /// The response decoded; a non-2xx status is a `VerifierRefusal` with the service's error document.
    public func call<Response: Decodable>(_ method: String, _ path: String, token: [UInt8]?, body: [UInt8]?) throws -> Response {
        let response = try raw(method, path, token: token, body: body)
        guard (200..<300).contains(response.status) else {
            let error = (try? JSONDecoder().decode(APIError.self, from: Data(response.body)))
                ?? APIError(code: "http-\(response.status)", message: String(decoding: response.body.prefix(300), as: UTF8.self))
            throw VerifierRefusal(status: response.status, error: error)
        }
        do { return try JSONDecoder().decode(Response.self, from: Data(response.body)) } catch {
            throw VerifierAnswerError(url: base + path, reason: "\(error)")
        }
    }

    public func call<Request: Encodable, Response: Decodable>(_ method: String, _ path: String, token: [UInt8]?, json: Request) throws -> Response {
        try call(method, path, token: token, body: Array(try JSONEncoder().encode(json)))
    }
}
