import Foundation
import SignetHTTPClient
import SignetTestSupport
import XCTest

final class HTTPClientTests: XCTestCase {
    private var dir: TempDir!
    private var servers: [PythonServer] = []

    override func setUp() {
        super.setUp()
        dir = TempDir("signet-http")
    }

    override func tearDown() {
        for server in servers { server.stop() }
        servers = []
        dir?.remove()
        dir = nil
        super.tearDown()
    }

    private func startServer(mode: String = "plain", arguments: [String] = []) throws -> PythonServer {
        let server = try PythonServer(in: dir, mode: mode, arguments: arguments)
        servers.append(server)
        return server
    }

    private func echo(_ response: HTTPResponse, file: StaticString = #filePath, line: UInt = #line) throws -> Echo {
        XCTAssertEqual(response.headers["content-type"], "application/json", file: file, line: line)
        return try JSONDecoder().decode(Echo.self, from: Data(response.body))
    }

    private func expectError(_ kind: HTTPClientError.Kind, file: StaticString = #filePath, line: UInt = #line,
                             _ body: () throws -> HTTPResponse) -> HTTPClientError? {
        do {
            let response = try body()
            XCTFail("expected \(kind), got HTTP \(response.status)", file: file, line: line)
            return nil
        } catch let error as HTTPClientError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: Methods, bodies, headers

    func testMethods() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 10)
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let body: [UInt8]? = method == "GET" || method == "DELETE" ? nil : Array("payload-\(method)".utf8)
            let response = try client.request(method, "\(server.http)/things/\(method.lowercased())?x=1", body: body)
            XCTAssertEqual(response.status, 200)
            let e = try echo(response)
            XCTAssertEqual(e.method, method)
            XCTAssertEqual(e.path, "/things/\(method.lowercased())?x=1")
            XCTAssertEqual(e.bodyBytes, body ?? [])
        }
    }

    func testHeadHasNoBody() throws {
        let server = try startServer()
        let response = try HTTPClient(timeoutSeconds: 10).request("HEAD", "\(server.http)/x")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, [])
        XCTAssertEqual(response.headers["x-echo-server"], "signet-test")
    }

    func testPostWithoutBodySendsZeroLength() throws {
        let server = try startServer()
        let e = try echo(try HTTPClient(timeoutSeconds: 10).request("POST", "\(server.http)/empty"))
        XCTAssertEqual(e.method, "POST")
        XCTAssertEqual(e.headers["content-length"], "0")
        XCTAssertNil(e.headers["content-type"], "libcurl's default form content type must be suppressed")
        XCTAssertEqual(e.bodyBytes, [])
    }

    func testBinaryBodyWithZeroBytesRoundTrips() throws {
        let server = try startServer()
        var body: [UInt8] = [0, 0, 1, 0, 255, 0]
        for i in 0..<70_000 { body.append(UInt8(truncatingIfNeeded: i &* 31)) }
        body += [0, 0, 0]
        let e = try echo(try HTTPClient(timeoutSeconds: 10).request(
            "PUT", "\(server.http)/blob", headers: ["Content-Type": "application/octet-stream"], body: body))
        XCTAssertEqual(e.headers["content-length"], String(body.count))
        XCTAssertEqual(e.headers["content-type"], "application/octet-stream")
        XCTAssertNil(e.headers["expect"])
        XCTAssertEqual(e.bodyBytes.count, body.count)
        XCTAssertTrue(e.bodyBytes == body, "body changed in transit")
    }

    func testHeadersSentAndReceived() throws {
        let server = try startServer()
        let response = try HTTPClient(timeoutSeconds: 10).request(
            "GET", "\(server.http)/h",
            headers: ["X-Signet-Test": "hello world", "Authorization": "Bearer abc.def", "X-Empty": ""])
        let e = try echo(response)
        XCTAssertEqual(e.headers["x-signet-test"], "hello world")
        XCTAssertEqual(e.headers["authorization"], "Bearer abc.def")
        XCTAssertEqual(e.headers["x-empty"], "")
        // Response header names lower-cased; repeated headers joined.
        XCTAssertEqual(response.headers["x-echo-server"], "signet-test")
        XCTAssertEqual(response.headers["x-multi"], "one, two")
        XCTAssertEqual(response.headers["content-length"], String(response.body.count))
        XCTAssertNil(response.headers["X-Echo-Server"])
    }

    func testHeaderInjectionRejected() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 10)
        _ = expectError(.other) { try client.request("GET", "\(server.http)/", headers: ["X-A": "b\r\nX-Evil: 1"]) }
        _ = expectError(.other) { try client.request("GET", "\(server.http)/", headers: ["Bad Name": "x"]) }
        _ = expectError(.other) { try client.request("GET /x HTTP/1.1\r\n", "\(server.http)/") }
    }

    func testErrorStatusesAreResponses() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 10)
        for status in [404, 500, 301, 204] {
            let response = try client.request("GET", "\(server.http)/status/\(status)")
            XCTAssertEqual(response.status, status)
        }
        let response = try client.request("POST", "\(server.http)/status/500", body: Array("x".utf8))
        XCTAssertEqual(response.status, 500)
        XCTAssertEqual(try echo(response).bodyBytes, Array("x".utf8))
    }

    func testKeepAliveReusesConnection() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 10)
        let first = try echo(try client.request("GET", "\(server.http)/one"))
        let second = try echo(try client.request("POST", "\(server.http)/two", body: [1, 2, 3]))
        let third = try echo(try client.request("GET", "\(server.http)/status/404"))
        XCTAssertEqual(first.clientPort, second.clientPort, "second request should reuse the connection")
        XCTAssertEqual(second.clientPort, third.clientPort, "a 404 keeps the connection too")
        XCTAssertEqual(second.bodyBytes, [1, 2, 3])
        // Per-request options do not leak: a GET after a POST has no body.
        let fourth = try echo(try client.request("GET", "\(server.http)/four"))
        XCTAssertEqual(fourth.method, "GET")
        XCTAssertNil(fourth.headers["content-length"])
        XCTAssertEqual(fourth.bodyBytes, [])
    }

    func testClientStillWorksAfterAnError() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 10, maxResponseBytes: 1000)
        _ = expectError(.tooLarge) { try client.request("GET", "\(server.http)/large/5000") }
        _ = expectError(.connect) { try client.request("GET", "http://127.0.0.1:\(unusedLoopbackPort())/") }
        XCTAssertEqual(try client.request("GET", "\(server.http)/ok").status, 200)
    }

    // MARK: Failures

    func testConnectionRefused() throws {
        let port = unusedLoopbackPort()
        let error = expectError(.connect) { try HTTPClient(timeoutSeconds: 10).request("GET", "http://127.0.0.1:\(port)/x") }
        XCTAssertTrue(error?.message.contains("port \(port)") ?? false, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("Connection refused") ?? false, error?.message ?? "")
        XCTAssertEqual(error?.url, "http://127.0.0.1:\(port)/x")
        XCTAssertTrue(error?.description.hasPrefix("http://127.0.0.1:\(port)/x: ") ?? false)
    }

    /// Hermetic: a 64-octet label is longer than DNS allows (RFC 1035: 63), so the resolver
    /// refuses the name itself and no query leaves the machine (a real lookup needs a network
    /// and a name server, and can take seconds to fail).
    func testUnresolvableHost() throws {
        let host = String(repeating: "a", count: 64) + ".invalid"
        let error = expectError(.connect) { try HTTPClient(timeoutSeconds: 10).request("GET", "http://\(host)/") }
        XCTAssertTrue(error?.message.contains("resolve") ?? false, error?.message ?? "")
    }

    func testInvalidURLs() throws {
        let client = HTTPClient(timeoutSeconds: 5)
        _ = expectError(.invalidURL) { try client.request("GET", "ftp://127.0.0.1/file") }
        _ = expectError(.invalidURL) { try client.request("GET", "file:///etc/passwd") }
        _ = expectError(.invalidURL) { try client.request("GET", "http://") }
        _ = expectError(.invalidURL) { try client.request("GET", "") }
        _ = expectError(.invalidURL) { try client.request("GET", "http://[::1/") }
    }

    func testResponseLargerThanLimit() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 10, maxResponseBytes: 10_000)
        // Exactly at the limit is fine.
        XCTAssertEqual(try client.request("GET", "\(server.http)/large/10000").body.count, 10_000)
        XCTAssertEqual(try client.request("GET", "\(server.http)/stream/10000").body.count, 10_000)
        // Content-Length over the limit.
        let e1 = expectError(.tooLarge) { try client.request("GET", "\(server.http)/large/10001") }
        XCTAssertTrue(e1?.message.contains("10000") ?? false)
        // No Content-Length: caught by the write callback.
        _ = expectError(.tooLarge) { try client.request("GET", "\(server.http)/stream/200000") }
    }

    func testTimeout() throws {
        let server = try startServer()
        let client = HTTPClient(timeoutSeconds: 0.5)
        let start = Date()
        _ = expectError(.timeout) { try client.request("GET", "\(server.http)/sleep/3") }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5)
    }

    // MARK: TLS

    func testHTTPSWithCA() throws {
        let tls = try TLSFixture(in: dir)
        let server = try startServer(mode: "tls", arguments: [tls.serverCert, tls.serverKey])
        let client = HTTPClient(tls: HTTPTLSOptions(caFile: tls.caCert), timeoutSeconds: 10)
        let first = try echo(try client.request("POST", "\(server.https)/secure", body: [0, 1, 2, 0]))
        XCTAssertEqual(first.method, "POST")
        XCTAssertEqual(first.bodyBytes, [0, 1, 2, 0])
        let second = try echo(try client.request("GET", "\(server.https)/again"))
        XCTAssertEqual(first.clientPort, second.clientPort, "HTTPS keep-alive")
        XCTAssertEqual(try client.request("GET", "\(server.https)/status/404").status, 404)
    }

    func testHTTPSWithoutCAFails() throws {
        let tls = try TLSFixture(in: dir)
        let server = try startServer(mode: "tls", arguments: [tls.serverCert, tls.serverKey])
        _ = expectError(.tls) { try HTTPClient(timeoutSeconds: 10).request("GET", "\(server.https)/") }
        _ = expectError(.tls) {
            try HTTPClient(tls: HTTPTLSOptions(caFile: tls.otherCACert), timeoutSeconds: 10).request("GET", "\(server.https)/")
        }
    }

    func testHTTPSHostnameMismatchFails() throws {
        // The certificate names 127.0.0.1 only; "localhost" must not be accepted.
        let tls = try TLSFixture(in: dir)
        let server = try startServer(mode: "tls", arguments: [tls.serverCert, tls.serverKey])
        let error = expectError(.tls) {
            try HTTPClient(tls: HTTPTLSOptions(caFile: tls.caCert), timeoutSeconds: 10)
                .request("GET", "https://localhost:\(server.port)/")
        }
        XCTAssertNotNil(error)
    }

    func testMissingCAFileIsTLSError() throws {
        let server = try startServer(mode: "plain")  // never reached over TLS
        _ = expectError(.tls) {
            try HTTPClient(tls: HTTPTLSOptions(caFile: self.dir.url("missing.crt")), timeoutSeconds: 5)
                .request("GET", "https://127.0.0.1:\(server.port)/")
        }
    }

    func testMutualTLS() throws {
        let tls = try TLSFixture(in: dir)
        let server = try startServer(mode: "mtls", arguments: [tls.serverCert, tls.serverKey, tls.caCert])
        let client = HTTPClient(tls: HTTPTLSOptions(caFile: tls.caCert, clientCertificateFile: tls.clientCert,
                                                    clientKeyFile: tls.clientKey), timeoutSeconds: 10)
        let e = try echo(try client.request("PUT", "\(server.https)/mtls", body: Array("hi".utf8)))
        XCTAssertEqual(e.method, "PUT")
        XCTAssertEqual(e.bodyBytes, Array("hi".utf8))

        // Without a client certificate the server rejects the handshake. With TLS 1.3 that is an alert
        // after the client's Finished ("tlsv13 alert certificate required"); should the server's close
        // ever overtake the alert, the client sees a reset instead, which is still a failure.
        do {
            let response = try HTTPClient(tls: HTTPTLSOptions(caFile: tls.caCert), timeoutSeconds: 10)
                .request("GET", "\(server.https)/mtls")
            XCTFail("expected a TLS failure, got HTTP \(response.status)")
        } catch let error as HTTPClientError {
            if !error.message.contains("reset by peer") { XCTAssertEqual(error.kind, .tls, "\(error)") }
        }
    }
}
