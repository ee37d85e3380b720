#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser
import SignetCrypto
import SignetHTTPClient
import VerifierAPI
import VerifierConnection

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
    /// A default as help shows it: in the largest unit that divides it (`2m`, `10s`, `2160h`).
    package var defaultValueDescription: String {
        guard milliseconds != 0 else { return "0" }
        for (suffix, factor) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}

/// Standard base64 for JSON fields.
package enum Base64Text {
    package static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    package static func decode(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map { [UInt8]($0) } }
}
