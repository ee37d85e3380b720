import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import SignetTestSupport
import VerifierAPI

/// Slow-loris clients are cut off; secrets stay out of output; state files are private.
final class SlowClientTests: FleetTestCase {
    /// A TCP connection to the verifier that writes `bytes` one at a time, `interval` apart, and
    /// reports how long the server kept the connection open.
    func trickle(_ port: Int, _ bytes: [UInt8], interval: useconds_t, within limit: Double) -> Double? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var flags: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &flags, socklen_t(MemoryLayout<Int32>.size))
        let start = Date()
        for byte in bytes {
            var b = byte
            if send(fd, &b, 1, Int32(MSG_NOSIGNAL)) != 1 { return Date().timeIntervalSince(start) }
            // The server closing shows as a readable EOF.
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(interval / 1000)) > 0 {
                var buf = [UInt8](repeating: 0, count: 512)
                if recv(fd, &buf, buf.count, 0) <= 0 { return Date().timeIntervalSince(start) }
            }
            if Date().timeIntervalSince(start) > limit { return nil }
        }
        return nil
    }

    func testASlowLorisClientIsDisconnected() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"),
                                       extraArguments: ["--head-timeout", "1s", "--request-timeout", "2s"])
        try verifier.start()
        defer { verifier.stop() }
        // Headers trickled one byte every 200 ms: cut off after about a second.
        let head = Array("POST /v1/enrollments HTTP/1.1\r\nHost: verifier\r\nX-Slow: \(String(repeating: "s", count: 200))\r\n\r\n".utf8)
        let headHeld = try XCTUnwrap(trickle(verifier.port, head, interval: 200_000, within: 15), "the server never closed a trickling head")
        XCTAssertLessThan(headHeld, 4, "held \(headHeld) s")
        // A complete head, then a body trickled: cut off within the request timeout.
        let body = Array("POST /v1/enrollments HTTP/1.1\r\nHost: verifier\r\nContent-Length: 500\r\n\r\n".utf8) + [UInt8](repeating: 0x7b, count: 500)
        let bodyHeld = try XCTUnwrap(trickle(verifier.port, body, interval: 100_000, within: 20), "the server never closed a trickling body")
        XCTAssertLessThan(bodyHeld, 6, "held \(bodyHeld) s")
        // Normal clients are served meanwhile and afterwards.
        let health = try APICaller(base: verifier.url).call("GET", APIPath.health, token: nil, body: nil)
        XCTAssertEqual(health.status, 200)
    }

    func testNoTokenInTheVerifiersOutput() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("private.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "quiet-node", dir: dir)
        try node.boot()
        let first = try node.attest(verifier.url)
        let second = try node.attest(verifier.url)
        XCTAssertEqual(second.status, 0, second.output)
        let status = try admin(verifier, ["status"])

        let nodeToken = TokenEncoding.encode(try node.token())
        let adminToken = try String(contentsOfFile: verifier.adminTokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for (what, text) in [("verifier log", verifier.log), ("agent output", first.output + second.output), ("fleet status", status.output)] {
            XCTAssertFalse(text.contains(nodeToken), "\(what) shows the node token")
            XCTAssertFalse(text.contains(adminToken), "\(what) shows the admin token")
        }
        for file in [dir.url("private.db"), verifier.adminTokenFile, "\(node.stateDir)/verifier.token"] {
            var st = stat()
            XCTAssertEqual(stat(file, &st), 0, file)
            XCTAssertEqual(st.st_mode & 0o077, 0, "\(file) is readable by others: \(String(st.st_mode & 0o777, radix: 8))")
        }
    }
}
