#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import StrictJSON
import VerifierAPI

/// The verifier service over HTTP(S): routes, authentication headers, body limits, and the
/// background sweeper and webhook sender. Database and verification work runs on a thread
/// pool, never on the event loops; webhook deliveries on threads of their own (`WebhookSender`).
public enum VerifierServer {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8443
        /// PEM certificate chain and key; without them the server speaks plain HTTP, and only on loopback.
        public var tlsCertificateFile: String?
        public var tlsKeyFile: String?
        /// Threads for database and verification work.
        public var workerThreads = 4
        /// How often to sweep for stale nodes and look for due webhooks (seconds; a finished
        /// delivery also makes the sender look at once).
        public var backgroundInterval: Double = 1
        /// A client must send a request's head within this many seconds of connecting (or of
        /// the previous response), and the whole request within `requestTimeout` of its head.
        public var headTimeout: Double = 10
        public var requestTimeout: Double = 120
        public init() {}
    }

    /// Runs until SIGINT/SIGTERM. `onListening` gets the bound port (useful with port 0).
    public static func run(core: VerifierCore, options: Options, onListening: @escaping @Sendable (Int) -> Void) async throws {
        let isLoopback = ["127.0.0.1", "::1", "localhost"].contains(options.host)
        let head = TimeAmount.milliseconds(Int64(options.headTimeout * 1000))
        let whole = TimeAmount.milliseconds(Int64(options.requestTimeout * 1000))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(headTimeout: head, requestTimeout: whole), CloseAfterRefusalHandler()])
        var server: HTTPServerBuilder = .http1(configuration: http1)
        if let certFile = options.tlsCertificateFile, let keyFile = options.tlsKeyFile {
            let chain = try NIOSSLCertificate.fromPEMFile(certFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
        } else if !isLoopback {
            throw ServiceError(500, "tls-required", "plain HTTP is allowed only on loopback; give --tls-cert and --tls-key to listen on \(options.host)")
        }
        let pool = NIOThreadPool(numberOfThreads: max(1, options.workerThreads))
        pool.start()

        var logger = Logger(label: "signet.verifier")
        logger.logLevel = .warning
        let app = Application(
            router: router(core: core, pool: pool),
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "signet-verifier"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? options.port) },
            logger: logger)

        let background = Task.detached {
            while !Task.isCancelled {
                _ = try? await pool.runIfActive { try core.sweepStale() }
                try? await Task.sleep(nanoseconds: UInt64(options.backgroundInterval * 1e9))
            }
        }
        let sender = WebhookSender(core: core, interval: options.backgroundInterval)
        let webhooks = Task.detached { await sender.run() }
        // Stops the background work: the deliveries in flight finish and record their outcome first.
        func stopBackground() async {
            background.cancel()
            webhooks.cancel()
            await webhooks.value
            try? await pool.shutdownGracefully()
        }
        do { try await app.runService() } catch {
            await stopBackground()
            throw error
        }
        await stopBackground()
    }

    /// What a request must pass, from its head alone, before its body is read.
    enum Gate: Sendable {
        /// Nothing (health, metrics).
        case open
        /// The enrolment rate limits (per client address and in total).
        case enrolment
        /// Anyone may try: the body is small and bounded (activation: the enrolment id is the secret).
        case bounded
        /// The node's bearer token, checked against the database.
        case node(String)
        /// The admin bearer token.
        case admin
    }

    /// The routes. Exposed for in-process tests.
    public static func router(core: VerifierCore, pool: NIOThreadPool) -> Router<VerifierRequestContext> {
        let router = Router(context: VerifierRequestContext.self)
        let configuration = core.configuration
        let evidenceLimit = configuration.maxBodyBytes
        let enrolmentLimit = configuration.maxEnrollmentBodyBytes
        let small = configuration.maxSmallBodyBytes
        let limiter = EnrollmentLimiter(rate: configuration.enrollmentRate, perClient: configuration.enrollmentRatePerClient)

        router.get(RouterPath(APIPath.health)) { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get(RouterPath(APIPath.metrics)) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: core.metrics.render())))
        }
        router.post("/v1/enrollments") { request, context in
            await respond(request, core, pool, enrolmentLimit, gate: .enrolment, limiter: limiter, client: context.remoteAddress,
                          status: .created) { body, _ in try core.enroll(try decode(body)) }
        }
        router.post("/v1/enrollments/:id/activate") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await respond(request, core, pool, small, gate: .bounded) { body, _ in try core.activate(enrollmentID: id, try decode(body)) }
        }
        router.post("/v1/nodes/:node/nonce") { request, context in
            let node = context.parameters.get("node") ?? ""
            return await respond(request, core, pool, small, gate: .node(node)) { body, token in
                try core.issueNonce(node: node, token: token, try decode(body))
            }
        }
        router.post("/v1/nodes/:node/attestations") { request, context in
            let node = context.parameters.get("node") ?? ""
            return await respond(request, core, pool, evidenceLimit, gate: .node(node)) { body, token in
                try core.attest(node: node, token: token, evidence: body)
            }
        }
        router.put("/v1/nodes/:node/group") { request, context in
            let node = context.parameters.get("node") ?? ""
            return await respond(request, core, pool, small, gate: .admin) { body, token in
                try core.authenticateAdmin(token: token)
                let assignment: GroupAssignment = try decode(body)
                try core.assignGroup(node: node, assignment)
                return assignment
            }
        }
        router.post("/v1/groups/:group/references") { request, context in
            let group = context.parameters.get("group") ?? ""
            return await respond(request, core, pool, evidenceLimit, gate: .admin, status: .created) { body, token in
                try core.authenticateAdmin(token: token)
                return try core.uploadReference(group: group, try decode(body))
            }
        }
        router.get("/v1/nodes/:node/history") { request, context in
            let node = context.parameters.get("node") ?? ""
            return await respond(request, core, pool, 0, gate: .admin) { _, token in
                try core.authenticateAdmin(token: token)
                return try core.history(node: node)
            }
        }
        router.get(RouterPath(APIPath.fleet)) { request, _ in
            await respond(request, core, pool, 0, gate: .admin) { _, token in
                try core.authenticateAdmin(token: token)
                return try core.fleetStatus()
            }
        }
        return router
    }

    /// Refuses from the head alone what can be refused without the body: a declared length past
    /// `limit` (413), a missing or wrong token (401), an enrolment over its rate (429); such a
    /// refusal closes the connection, so the body is never read. Then collects the body (413 past
    /// `limit`, also without reading the rest), runs `work` on the pool with the bearer token, and
    /// encodes its result or error as JSON.
    static func respond<T: Encodable & Sendable>(
        _ request: Request, _ core: VerifierCore, _ pool: NIOThreadPool, _ limit: Int, gate: Gate,
        limiter: EnrollmentLimiter? = nil, client: SocketAddress? = nil, status: HTTPResponse.Status = .ok,
        _ work: @escaping @Sendable ([UInt8], [UInt8]?) throws -> T
    ) async -> Response {
        let declared = request.headers[.contentLength].flatMap(Int.init)
        let hasBody = (declared ?? 0) > 0 || request.headers[.transferEncoding] != nil
        var bodyRead = false
        do {
            if let declared, declared > limit { throw ServiceError.bodyTooLarge(limit, length: declared) }
            let token = bearerToken(request)
            switch gate {
            case .open, .bounded: break
            case .enrolment: try limiter?.admit(client: EnrollmentLimiter.clientKey(client?.ipAddress))
            case .admin: try core.authenticateAdmin(token: token)
            case .node(let node): try await pool.runIfActive { try core.authenticateNode(node, token: token) }
            }
            let bytes = try await collect(request, limit: limit)
            bodyRead = true
            let result = try await pool.runIfActive { try work(bytes, token) }
            return json(status, result)
        } catch let error as ServiceError {
            if (400..<500).contains(error.status) { core.metrics.recordRefusal() }
            var headers = HTTPFields()
            if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
            if hasBody && !bodyRead { headers[.connection] = "close" }
            return json(HTTPResponse.Status(code: error.status), error.error, headers: headers)
        } catch {
            return json(.internalServerError, APIError(code: "internal", message: "\(error)"))
        }
    }

    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        guard limit > 0 else { return [] }
        var buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw ServiceError.bodyTooLarge(limit)
        }
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// `Authorization: Bearer <base64url or base64 token>`.
    static func bearerToken(_ request: Request) -> [UInt8]? {
        guard let value = request.headers[.authorization], value.hasPrefix("Bearer ") else { return nil }
        return TokenEncoding.decode(String(value.dropFirst(7)))
    }

    /// A request body as `T`: strict JSON first (`StrictJSON`: no key twice, no byte order mark;
    /// a 400 `duplicate-key` or `bad-json` names the path and byte offset), then the fields.
    static func decode<T: Decodable>(_ body: [UInt8]) throws -> T {
        do { try StrictJSON.validate(body) } catch {
            throw ServiceError.badRequest(error.code == .duplicateKey ? "duplicate-key" : "bad-json", error.description,
                                          field: error.path.isEmpty ? nil : error.path)
        }
        do { return try JSONDecoder().decode(T.self, from: Data(body)) } catch let DecodingError.keyNotFound(key, _) {
            throw ServiceError.badRequest("bad-json", "missing field '\(key.stringValue)'", field: key.stringValue)
        } catch let DecodingError.typeMismatch(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ServiceError.badRequest("bad-json", "wrong type for '\(field)'", field: field)
        } catch {
            throw ServiceError.badRequest("bad-json", "the body is not the expected JSON document")
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T, headers extra: HTTPFields = HTTPFields()) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(value)).map { [UInt8]($0) } ?? Array(#"{"code":"internal","message":"encoding failed"}"#.utf8)
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The request context: Hummingbird's, plus the client's address (for the enrolment rate limits).
public struct VerifierRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
