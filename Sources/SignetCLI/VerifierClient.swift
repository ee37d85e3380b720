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
        guard verifier.hasPrefix("https://") || verifier.hasPrefix("http://127.") || verifier.hasPrefix("http://localhost")
                || verifier.hasPrefix("http://[::1]") else {
            throw UsageError("--verifier must be an https:// URL (plain http only to loopback), not '\(verifier)'")
        }
        return VerifierClient(base: verifier.hasSuffix("/") ? String(verifier.dropLast()) : verifier,
                              http: HTTPClient(tls: HTTPTLSOptions(caFile: caFile), timeoutSeconds: timeout))
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
