import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto
import SignetTestSupport
import VerifierAPI

/// Issue 13 finding 6: a request is authenticated from its head and its body bounded per
/// endpoint before the body is read, so unauthenticated large posts cost the verifier nothing.
final class BodyLimitTests: FleetTestCase {
    /// What a raw client saw: the response status (nil when the connection ended first), the bytes
    /// of body it managed to send, and how long it took.
    struct RawOutcome {
        var status: Int?
        var sent = 0
        var seconds = 0.0
    }

    /// Sends `head` and then up to `bodyBytes` of body (`chunked` or as declared in the head) as
    /// fast as the server takes them, stopping at the first response byte or a closed connection.
    static func rawPost(port: Int, head: String, bodyBytes: Int, chunked: Bool = false, timeout: Double = 60) -> RawOutcome {
        var outcome = RawOutcome()
        let start = Date()
        defer { outcome.seconds = Date().timeIntervalSince(start) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return outcome }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return outcome }
        var pending = Array(head.utf8)
        let chunk = [UInt8](repeating: 0x7b, count: 64 << 10)
        var body = bodyBytes
        var received: [UInt8] = []
        while Date().timeIntervalSince(start) < timeout {
            if pending.isEmpty && body > 0 {
                let n = min(body, chunk.count)
                pending = chunked ? Array(String(n, radix: 16).utf8) + [13, 10] + chunk.prefix(n) + [13, 10] : Array(chunk.prefix(n))
                body -= n
                if chunked && body == 0 { pending += Array("0\r\n\r\n".utf8) }
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN) | (pending.isEmpty ? 0 : Int16(POLLOUT)), revents: 0)
            guard poll(&pfd, 1, 1000) >= 0 else { break }
            if pfd.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &buf, buf.count, 0)
                if n <= 0 { break }
                received += buf.prefix(n)
                if let line = String(decoding: received, as: UTF8.self).split(separator: "\r\n").first, line.hasPrefix("HTTP/1.1 "),
                   received.count >= 12 {
                    outcome.status = Int(line.dropFirst(9).prefix(3))
                    break
                }
                continue
            }
            if pfd.revents & Int16(POLLOUT) != 0 {
                let n = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n < 0 {
                    if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                    // The server closed: read whatever answer it sent first.
                    var buf = [UInt8](repeating: 0, count: 4096)
                    let r = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
                    if r > 0, let line = String(decoding: buf.prefix(r), as: UTF8.self).split(separator: "\r\n").first, line.hasPrefix("HTTP/1.1 ") {
                        outcome.status = Int(line.dropFirst(9).prefix(3))
                    }
                    break
                }
                outcome.sent += n
                pending.removeFirst(n)
            }
            if pending.isEmpty && body == 0 { pending = [] }
        }
        return outcome
    }

    /// VmRSS and VmHWM (peak) of `pid`, in kB.
    static func memory(_ pid: Int32) -> (rss: Int, peak: Int) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    func testUnauthenticatedLargePostsAreRefusedBeforeTheBodyIsRead() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "node-a", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        let pid = try XCTUnwrap(verifier.process?.processIdentifier)
        let before = Self.memory(pid)

        // 16 concurrent 50 MB posts, none with a usable token: a wrong token for an enrolled node,
        // an unknown node, no token, the nonce endpoint, an admin endpoint without the admin token.
        let fifty = 50 << 20
        let wrong = "Bearer " + TokenEncoding.encode(SecureRandom.bytes(32))
        let targets: [(path: String, auth: String?)] = [
            (APIPath.attestations(node.id), wrong), (APIPath.attestations("ghost"), wrong), (APIPath.attestations(node.id), nil),
            (APIPath.nonce(node.id), wrong), ("/v1/groups/default/references", wrong), ("/v1/groups/default/references", nil),
        ]
        let outcomes = Locked<[(Int, RawOutcome)]>([])
        let group = DispatchGroup()
        for i in 0..<16 {
            let target = targets[i % targets.count]
            let port = verifier.port
            group.enter()
            Thread.detachNewThread {
                let head = "POST \(target.path) HTTP/1.1\r\nHost: verifier\r\nContent-Type: application/json\r\nContent-Length: \(fifty)\r\n"
                    + (target.auth.map { "Authorization: \($0)\r\n" } ?? "") + "\r\n"
                let outcome = Self.rawPost(port: port, head: head, bodyBytes: fifty)
                outcomes.withLock { $0.append((i, outcome)) }
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "the posts did not finish")
        let after = Self.memory(pid)
        for (i, outcome) in outcomes.withLock({ $0 }).sorted(by: { $0.0 < $1.0 }) {
            let target = targets[i % targets.count]
            // The nonce endpoint's body limit is smaller than 50 MB: 413 before the token is looked at.
            let expected = target.path.hasSuffix("/nonce") ? 413 : 401
            XCTAssertEqual(outcome.status, expected, "POST \(target.path) #\(i): \(outcome)")
            XCTAssertLessThan(outcome.sent, 40 << 20, "POST \(target.path) #\(i): the verifier read most of the body (\(outcome.sent) bytes)")
        }
        let growth = after.peak - before.peak
        XCTAssertLessThan(growth, 32 << 10, "peak RSS grew by \(growth) kB (from \(before.peak) to \(after.peak) kB; RSS now \(after.rss) kB)")
        print("BodyLimitTests: verifier RSS \(before.rss) kB -> \(after.rss) kB, peak \(before.peak) kB -> \(after.peak) kB after 16 refused 50 MB posts")

        // The verifier still serves the node.
        try node.run([("/usr/bin/a", Array("program a".utf8))])
        let round = try node.attest(verifier.url)
        XCTAssertEqual(round.status, 0, round.output)
    }

    func testBodiesOverAnEndpointsLimitAreRefused() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"), extraArguments: ["--max-body", "1"])
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "node-a", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        let auth = "Authorization: Bearer " + TokenEncoding.encode(try node.token()) + "\r\n"
        let port = verifier.port
        func post(_ path: String, _ size: Int, auth: String = "", chunked: Bool = false) -> RawOutcome {
            let length = chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(size)\r\n"
            return Self.rawPost(port: port, head: "POST \(path) HTTP/1.1\r\nHost: verifier\r\n\(length)\(auth)\r\n", bodyBytes: size, chunked: chunked)
        }
        // Declared lengths past each endpoint's limit: 413 from the head, before authentication.
        XCTAssertEqual(post(APIPath.enrollments, 65 << 10).status, 413)
        XCTAssertEqual(post(APIPath.activation("0011"), 5 << 10).status, 413)
        XCTAssertEqual(post(APIPath.nonce(node.id), 5 << 10, auth: auth).status, 413)
        XCTAssertEqual(post(APIPath.nonce("ghost"), 5 << 10).status, 413)
        XCTAssertEqual(post(APIPath.attestations(node.id), 2 << 20, auth: auth).status, 413)
        // Undeclared (chunked) bodies: cut off at the limit, the rest never read.
        let enrol = post(APIPath.enrollments, 64 << 20, chunked: true)
        XCTAssertEqual(enrol.status, 413)
        XCTAssertLessThan(enrol.sent, 48 << 20, "\(enrol)")
        let evidence = post(APIPath.attestations(node.id), 64 << 20, auth: auth, chunked: true)
        XCTAssertEqual(evidence.status, 413)
        XCTAssertLessThan(evidence.sent, 48 << 20, "\(evidence)")
        // Within the limits, the same endpoints answer as before (here: not JSON).
        XCTAssertEqual(post(APIPath.nonce(node.id), 3 << 10, auth: auth).status, 400)
        XCTAssertEqual(post(APIPath.enrollments, 60 << 10).status, 400)
        // A chunked upload without a token is refused before its first byte is read.
        let anonymous = post(APIPath.attestations(node.id), 64 << 20, chunked: true)
        XCTAssertEqual(anonymous.status, 401)
        XCTAssertLessThan(anonymous.sent, 48 << 20, "\(anonymous)")
        XCTAssertEqual(try node.attest(verifier.url).status, 0, "the node is still served")
    }
}
