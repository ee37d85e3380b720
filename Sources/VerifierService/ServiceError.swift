import VerifierAPI

/// A refused request: the HTTP status and the APIError document the client receives.
/// Nothing is stored for a refused request.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let error: APIError
    /// Sent as `Retry-After` (seconds) with 429 and 503.
    public var retryAfterSeconds: Int?

    public init(_ status: Int, _ code: String, _ message: String, field: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.error = APIError(code: code, message: message, field: field)
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "HTTP \(status) \(error)" }

    static func badRequest(_ code: String, _ message: String, field: String? = nil) -> ServiceError { .init(400, code, message, field: field) }
    static let unauthorized = ServiceError(401, "unauthorized", "missing or invalid bearer token for this node (enrol first)")
    static let adminUnauthorized = ServiceError(401, "unauthorized", "missing or invalid admin token")
    static func notFound(_ what: String) -> ServiceError { .init(404, "not-found", what) }
    static func conflict(_ code: String, _ message: String) -> ServiceError { .init(409, code, message) }
    static func unavailable(_ message: String) -> ServiceError { .init(503, "database-unavailable", message) }
    static func bodyTooLarge(_ limit: Int, length: Int? = nil) -> ServiceError {
        .init(413, "body-too-large", "the request body\(length.map { " (\($0) bytes)" } ?? "") is larger than \(limit) bytes")
    }
}
