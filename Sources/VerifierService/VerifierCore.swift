#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Attestation
import IMAFormat
import SQLStore
import SignetCrypto
import TPM
import VerifierAPI

/// The verifier's operations, synchronous and HTTP-free: the HTTP layer decodes a request,
/// calls one of these on a worker thread, and encodes the answer. All state is in the
/// database, so any number of processes can serve the same fleet and a restart loses nothing.
public final class VerifierCore: Sendable {
    public let database: SQLDatabase
    public let configuration: VerifierConfiguration
    public let metrics: VerifierMetrics
    let references: ReferenceCache
    /// The current time in ms since the epoch (a parameter so tests can move it).
    let now: @Sendable () -> Int64

    public init(database: SQLDatabase, configuration: VerifierConfiguration, metrics: VerifierMetrics = VerifierMetrics(),
                now: @escaping @Sendable () -> Int64 = VerifierCore.wallClockMs) throws {
        self.database = database
        self.configuration = configuration
        self.metrics = metrics
        self.references = ReferenceCache()
        self.now = now
        try database.migrate(Schema.migrations)
    }

    /// Milliseconds since the Unix epoch.
    public static let wallClockMs: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Authentication

    /// The node's row when `token` is its bearer token; 401 otherwise (also for unknown nodes,
    /// so the answer does not tell which node ids exist).
    func authenticatedNode(_ nodeID: String, token: [UInt8]?, on connection: any SQLConnection,
                           withReference: Bool = false) throws -> NodeRecord {
        guard Identifier.isValid(nodeID), let token,
              let node = try (withReference ? NodeRecord.loadWithReference(nodeID, on: connection) : NodeRecord.load(nodeID, on: connection)),
              constantTimeEqual(Digester.hash(token, .sha256), node.tokenSHA256) else {
            throw ServiceError.unauthorized
        }
        return node
    }

    /// Checks a node's bearer token before its request body is read (401 as `authenticatedNode`).
    /// The operation re-checks it in its own statements, so a token replaced meanwhile still fails.
    public func authenticateNode(_ nodeID: String, token: [UInt8]?) throws {
        guard Identifier.isValid(nodeID), let token else { throw ServiceError.unauthorized }
        let expected = try withConnection { c in
            try c.query("SELECT token_sha256 FROM nodes WHERE id = $1", [.text(nodeID)]).first.map { try $0.blob("token_sha256") }
        }
        guard let expected, constantTimeEqual(Digester.hash(token, .sha256), expected) else { throw ServiceError.unauthorized }
    }

    /// Checks the admin bearer token.
    public func authenticateAdmin(token: [UInt8]?) throws {
        guard let expected = configuration.adminTokenSHA256, let token,
              constantTimeEqual(Digester.hash(token, .sha256), expected) else {
            throw ServiceError.adminUnauthorized
        }
    }

    // MARK: Database access with typed errors

    func withConnection<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        do { return try database.withConnection(body) } catch let error as SQLError { throw Self.serviceError(error) }
    }

    func transaction<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        do { return try database.transaction(body) } catch let error as SQLError { throw Self.serviceError(error) }
    }

    static func serviceError(_ error: SQLError) -> ServiceError {
        switch error.kind {
        case .connection: return .unavailable("the verifier's database is unreachable: \(error.message)")
        case .conflict: return .conflict("retry", "a concurrent update won; retry the request")
        default: return ServiceError(500, "database-error", error.message)
        }
    }
}

/// Equal-length comparison that takes the same time wherever the first difference is.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

extension Base64 {
    /// Decodes strict base64 from a request field, or a 400 naming the field.
    static func field(_ text: String, _ name: String, limit: Int) throws -> [UInt8] {
        guard text.utf8.count <= (limit + 2) / 3 * 4 + 4 else {
            throw ServiceError.badRequest("too-large", "\(name) is larger than \(limit) bytes", field: name)
        }
        guard let bytes = Base64.decode(text) else {
            throw ServiceError.badRequest("bad-base64", "\(name) is not valid base64", field: name)
        }
        return bytes
    }
}

/// Strict base64 (RFC 4648 alphabet, padding required, no line breaks).
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text) else { return nil }
        return [UInt8](data)
    }
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

/// A monotonic clock in nanoseconds, for durations.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
