#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StrictJSON

/// Strict JSON in and deterministic JSON out, for bundles and indexes.
public enum BundleJSON {
    /// The `format` field of a bundle or index document ("signet-bundle", "signet-bundle-index"),
    /// nil when the bytes are not strict JSON with one; nothing else is checked.
    public static func format(of bytes: [UInt8]) -> String? {
        struct Probe: Decodable { var format: String }
        guard (try? StrictJSON.validate(bytes)) != nil else { return nil }
        return (try? JSONDecoder().decode(Probe.self, from: Data(bytes)))?.format
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Array(try! encoder.encode(value))
        out.append(0x0a)
        return out
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], source: String, what: String) throws(BundleError) -> T {
        do { try StrictJSON.validate(bytes) } catch {
            throw BundleError(.malformed, source: source, field: error.path.isEmpty ? nil : error.path,
                              "not a \(what): not strict JSON at byte \(error.offset): \(error.reason)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let c):
                throw BundleError(.malformed, source: source, field: (c.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."),
                                  "not a \(what): missing field '\(key.stringValue)'")
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                throw BundleError(.malformed, source: source, field: c.codingPath.map(\.stringValue).joined(separator: "."),
                                  "not a \(what): wrong type or value")
            @unknown default:
                throw BundleError(.malformed, source: source, "not a \(what): \(error)")
            }
        } catch {
            throw BundleError(.malformed, source: source, "not a \(what): \(error)")
        }
    }
}
