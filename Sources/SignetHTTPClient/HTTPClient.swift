// SignetHTTPClient: a small blocking HTTP(S) client over libcurl.
//
// INTERFACE CONTRACT (the agent, the fleet CLI and the verifier's webhooks use exactly this).

import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// TLS settings for a client.
///
/// Peer and host verification are always on; there is deliberately no way to turn them off.
/// Point `caFile` at a private CA instead.
public struct HTTPTLSOptions: Sendable, Equatable {
    /// PEM file with the CA certificate(s) to trust instead of the system store.
    public var caFile: String?
    /// PEM client certificate for mutual TLS (may also hold the key, then `clientKeyFile` can be nil).
    public var clientCertificateFile: String?
    /// PEM private key for `clientCertificateFile` (unencrypted).
    public var clientKeyFile: String?
    /// Creates TLS options; all nil means "system CA store, no client certificate".
    public init(caFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile; self.clientCertificateFile = clientCertificateFile; self.clientKeyFile = clientKeyFile
    }
}

/// An HTTP response of any status (4xx and 5xx included).
public struct HTTPResponse: Sendable {
    /// The HTTP status code, e.g. 200 or 404.
    public let status: Int
    /// Header names lower-cased. A header received several times has its values joined with ", ".
    public let headers: [String: String]
    /// The response body, exactly as received (after any transfer decoding).
    public let body: [UInt8]
    /// Creates a response (for tests and fakes).
    public init(status: Int, headers: [String: String], body: [UInt8]) { self.status = status; self.headers = headers; self.body = body }
}

/// Why a request got no HTTP response at all (an HTTP error status is a response, not this).
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// The broad class of failure.
    public enum Kind: Sendable, Equatable {
        /// The URL is malformed or its scheme is not http/https.
        case invalidURL
        /// DNS resolution or the TCP connection failed (e.g. connection refused).
        case connect
        /// The TLS handshake failed: untrusted or mismatched server certificate, client certificate
        /// problems or rejection, unreadable CA/certificate/key files.
        case tls
        /// The request did not finish within the client's timeout.
        case timeout
        /// The response body exceeded the client's `maxResponseBytes`.
        case tooLarge
        /// Anything else (connection reset, malformed response, invalid request header or method, ...).
        case other
    }
    /// The broad class of failure.
    public let kind: Kind
    /// The URL requested.
    public let url: String
    /// A human-readable explanation, e.g. "Couldn't connect to server: Failed to connect to 127.0.0.1 port 9 ...".
    public let message: String
    /// Creates an error.
    public init(kind: Kind, url: String, message: String) { self.kind = kind; self.url = url; self.message = message }
    /// "url: message".
    public var description: String { "\(url): \(message)" }
}

/// One client; reuses connections (keep-alive) between requests. Not thread-safe: one per thread.
///
/// Wraps a single libcurl easy handle. Only `http://` and `https://` URLs are allowed, redirects are
/// not followed (a 3xx is returned as a response), and proxies configured in the environment
/// (`http_proxy`, `https_proxy`, `no_proxy`) are honoured as libcurl does by default.
public final class HTTPClient {
    /// The TLS settings every request uses.
    public let tls: HTTPTLSOptions
    /// Total time allowed per request (connect included), in seconds; ≤ 0 means no limit.
    public let timeoutSeconds: Double
    /// Largest response body accepted; a bigger one fails with `.tooLarge`.
    public let maxResponseBytes: Int

    private let handle: UnsafeMutableRawPointer?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// Creates a client. `timeoutSeconds` bounds each whole request (≤ 0: no limit);
    /// `maxResponseBytes` bounds each response body.
    public init(tls: HTTPTLSOptions = HTTPTLSOptions(), timeoutSeconds: Double = 30, maxResponseBytes: Int = 64 << 20) {
        _ = CurlGlobal.initialized
        self.tls = tls
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = max(0, maxResponseBytes)
        self.handle = curl_easy_init()
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
    }

    /// Sends one request. `method` is GET/POST/PUT/DELETE; `headers` are sent as given.
    ///
    /// A `body` is sent byte for byte (zero bytes included) with a Content-Length. POST, PUT and
    /// PATCH without a body send `Content-Length: 0`. libcurl's default form Content-Type and
    /// `Expect: 100-continue` are suppressed unless given in `headers`. A header with an empty value
    /// is sent empty.
    ///
    /// - Returns: the response, whatever its status.
    /// - Throws: `HTTPClientError` when no complete HTTP response was received.
    public func request(_ method: String, _ url: String, headers: [String: String] = [:], body: [UInt8]? = nil) throws -> HTTPResponse {
        guard let handle else {
            throw HTTPClientError(kind: .other, url: url, message: "curl_easy_init failed")
        }
        try Self.validate(method: method, headers: headers, url: url)

        // Forget the previous request's options; live connections, DNS and TLS session caches stay.
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let context = TransferContext(limit: maxResponseBytes)
        let contextPointer = Unmanaged.passRetained(context)
        defer { contextPointer.release() }

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        let hasBody = body != nil || ["POST", "PUT", "PATCH"].contains(method.uppercased())
        let given = Set(headers.keys.map { $0.lowercased() })
        var lines: [String] = headers.sorted { $0.key < $1.key }.map { name, value in
            // "Name:" would tell libcurl to remove the header; "Name;" sends it empty.
            value.isEmpty ? "\(name);" : "\(name): \(value)"
        }
        if hasBody && !given.contains("content-type") { lines.append("Content-Type:") }
        if hasBody && !given.contains("expect") { lines.append("Expect:") }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw HTTPClientError(kind: .other, url: url, message: "out of memory building request headers")
            }
            headerList = appended
        }

        var setupError: CURLcode = CURLE_OK
        func set(_ rc: CURLcode) { if setupError == CURLE_OK && rc != CURLE_OK { setupError = rc } }

        set(signet_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(signet_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(signet_curl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(signet_curl_setopt_str(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        set(signet_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(signet_curl_setopt_str(handle, CURLOPT_URL, url))
        set(signet_curl_setopt_str(handle, CURLOPT_USERAGENT, "signet"))
        set(signet_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))

        // TLS: verification always on.
        set(signet_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        set(signet_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile = tls.caFile { set(signet_curl_setopt_str(handle, CURLOPT_CAINFO, caFile)) }
        if let cert = tls.clientCertificateFile {
            set(signet_curl_setopt_str(handle, CURLOPT_SSLCERT, cert))
            set(signet_curl_setopt_str(handle, CURLOPT_SSLCERTTYPE, "PEM"))
        }
        if let key = tls.clientKeyFile {
            set(signet_curl_setopt_str(handle, CURLOPT_SSLKEY, key))
            set(signet_curl_setopt_str(handle, CURLOPT_SSLKEYTYPE, "PEM"))
        }

        // Limits.
        if timeoutSeconds > 0 {
            let ms = max(1, Int((timeoutSeconds * 1000).rounded(.up)))
            set(signet_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, ms))
            set(signet_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, ms))
        }
        set(signet_curl_setopt_off(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxResponseBytes)))

        // Method.
        switch method.uppercased() {
        case "GET" where body == nil: set(signet_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case "HEAD" where body == nil: set(signet_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        default: set(signet_curl_setopt_str(handle, CURLOPT_CUSTOMREQUEST, method))
        }
        set(signet_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList))

        // Response collection.
        let opaque = contextPointer.toOpaque()
        set(signet_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, ctx in
            let n = size * count
            let context = Unmanaged<TransferContext>.fromOpaque(ctx!).takeUnretainedValue()
            if n > context.limit - context.body.count {
                context.exceeded = true
                return 0  // != n: libcurl aborts with CURLE_WRITE_ERROR
            }
            if n > 0, let data { context.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n)) }
            return n
        }))
        set(signet_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, opaque))
        set(signet_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, ctx in
            let n = size * count
            let context = Unmanaged<TransferContext>.fromOpaque(ctx!).takeUnretainedValue()
            if n > 0, let data { context.headerLine(UnsafeRawBufferPointer(start: data, count: n)) }
            return n
        }))
        set(signet_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, opaque))

        // Body (binary-safe: explicit size), then perform while the bytes are pinned.
        let rc: CURLcode
        if setupError != CURLE_OK {
            rc = setupError
        } else if hasBody {
            rc = (body ?? []).withUnsafeBytes { bytes -> CURLcode in
                let brc = signet_curl_set_body(handle, bytes.baseAddress, curl_off_t(bytes.count))
                guard brc == CURLE_OK else { return brc }
                return curl_easy_perform(handle)
            }
        } else {
            rc = curl_easy_perform(handle)
        }
        guard rc == CURLE_OK else {
            throw error(for: rc, handle: handle, url: url, context: context)
        }

        var status = 0
        _ = signet_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: context.headers, body: context.body)
    }

    private func error(for rc: CURLcode, handle: UnsafeMutableRawPointer, url: String, context: TransferContext) -> HTTPClientError {
        if context.exceeded || rc == CURLE_FILESIZE_EXCEEDED {
            return HTTPClientError(kind: .tooLarge, url: url,
                                   message: "response body larger than \(maxResponseBytes) bytes")
        }
        let summary = String(cString: curl_easy_strerror(rc))
        var detail = String(cString: errorBuffer).trimmingSuffix("\n")
        // libcurl 7.88 ends a failed connect with its own summary ("...: Couldn't connect to server");
        // the system's reason ("Connection refused") says more.
        var osErrno = 0
        if signet_curl_getinfo_long(handle, CURLINFO_OS_ERRNO, &osErrno) == CURLE_OK, osErrno != 0,
           let reason = strerror(Int32(osErrno)).map({ String(cString: $0) }), !detail.contains(reason) {
            if detail.hasSuffix(": \(summary)") {
                detail = String(detail.dropLast(summary.count)) + reason
            } else if rc == CURLE_COULDNT_CONNECT {
                detail += detail.isEmpty ? reason : ": \(reason)"
            }
        }
        let message = detail.isEmpty || detail == summary ? summary : "\(summary): \(detail)"
        return HTTPClientError(kind: CurlErrors.kind(of: rc, detail: detail), url: url, message: message)
    }

    private static func validate(method: String, headers: [String: String], url: String) throws {
        // RFC 9110 token characters only: no spaces, CR/LF or control bytes in the request line.
        let tokenSymbols = Set("!#$%&'*+-.^_`|~".utf8)
        func isToken(_ s: String) -> Bool {
            !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A)
                || ($0 >= 0x61 && $0 <= 0x7A) || tokenSymbols.contains($0) }
        }
        guard isToken(method) else {
            throw HTTPClientError(kind: .other, url: url, message: "invalid HTTP method \"\(method)\"")
        }
        for (name, value) in headers {
            guard isToken(name) else {
                throw HTTPClientError(kind: .other, url: url, message: "invalid HTTP header name \"\(name)\"")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw HTTPClientError(kind: .other, url: url, message: "invalid value for HTTP header \"\(name)\"")
            }
        }
    }
}

extension HTTPClient {
    /// Runs libcurl's process-wide initialisation now (it otherwise runs with the first client).
    /// A process that also loads an OpenSSL engine (the PKCS#11 engine) must do this first:
    /// libcurl's initialisation re-runs OpenSSL's, and after an engine was loaded that leaves
    /// OpenSSL unable to find EC groups for the rest of the process. Returns whether it worked.
    @discardableResult
    public static func initializeLibrary() -> Bool { CurlGlobal.initialized }
}

/// libcurl's process-wide initialisation, done once (Swift runs static initialisers exactly once, thread-safely).
private enum CurlGlobal {
    static let initialized: Bool = signet_curl_global_init() == CURLE_OK
}

/// What the callbacks collect during one transfer.
private final class TransferContext {
    let limit: Int
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var exceeded = false

    init(limit: Int) { self.limit = limit }

    func headerLine(_ raw: UnsafeRawBufferPointer) {
        var line = Substring(String(decoding: raw, as: UTF8.self))
        while let last = line.last, last == "\r\n" || last == "\n" || last == "\r" { line = line.dropLast() }
        if line.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue, or a proxy's CONNECT reply): start over.
            headers = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingWhitespace().lowercased()
        let value = String(line[line.index(after: colon)...].trimmingWhitespace())
        guard !name.isEmpty else { return }
        if let existing = headers[name] { headers[name] = existing + ", " + value } else { headers[name] = value }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var s = Substring(self)
        while s.hasSuffix(suffix) { s = s.dropLast(suffix.count) }
        return String(s)
    }
}
