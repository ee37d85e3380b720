import Foundation
import XCTest
import SignetTestSupport

/// HTTPS between agent, fleet CLI and verifier; plain HTTP refused off loopback.
final class TLSTests: FleetTestCase {
    func openssl(_ args: [String]) throws {
        let r = try runProgram("/usr/bin/openssl", args)
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testAgentAndFleetCLIOverHTTPSWithTheOperatorsCA() throws {
        // A throwaway TLS CA and a server certificate for 127.0.0.1.
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-subj", "/CN=Test TLS CA", "-keyout", dir.url("tls-ca.key"), "-out", dir.url("tls-ca.pem")])
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=verifier",
                     "-keyout", dir.url("server.key"), "-out", dir.url("server.csr")])
        dir.write("ext.cnf", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        try openssl(["x509", "-req", "-in", dir.url("server.csr"), "-CA", dir.url("tls-ca.pem"), "-CAkey", dir.url("tls-ca.key"),
                     "-CAcreateserial", "-days", "2", "-extfile", dir.url("ext.cnf"), "-out", dir.url("server.pem")])

        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"),
                                       extraArguments: ["--tls-cert", dir.url("server.pem"), "--tls-key", dir.url("server.key")])
        try verifier.start()
        defer { verifier.stop() }
        XCTAssertTrue(verifier.url.hasPrefix("https://"))
        let upload = try signet(["fleet", "upload-reference", "--verifier", verifier.url, "--ca", dir.url("tls-ca.pem"),
                                 "--admin-token-file", verifier.adminTokenFile, "--cert", keys.certPath, "--manifest", dir.url("m.jsonl")])
        XCTAssertEqual(upload.status, 0, upload.output)

        let node = try SimulatedNode(id: "tls-node", dir: dir)
        try node.boot()
        try node.run(programs)
        // Without the CA the agent does not trust the verifier, and says why.
        let untrusted = try node.attest(verifier.url)
        XCTAssertEqual(untrusted.status, 2, untrusted.output)
        XCTAssertTrue(untrusted.stderr.lowercased().contains("certificate"), untrusted.stderr)
        let trusted = try node.attest(verifier.url, extra: ["--ca", dir.url("tls-ca.pem")])
        XCTAssertEqual(trusted.status, 0, trusted.output)
        XCTAssertTrue(trusted.stdout.contains("round 1 pass"), trusted.stdout)

        // An agent pointed at plain http on a non-loopback address is refused before any request.
        let plain = try node.attest("http://192.0.2.1:8443")
        XCTAssertEqual(plain.status, 2, plain.output)
        XCTAssertTrue(plain.stderr.contains("https://"), plain.stderr)
        // A verifier asked to listen off loopback without TLS refuses to start.
        let open = try runProgram(signetBinary, ["verifier", "serve", "--database", dir.url("x.db"), "--listen", "0.0.0.0:0",
                                                 "--admin-token-file", verifier.adminTokenFile])
        XCTAssertEqual(open.status, 2, open.output)
        XCTAssertTrue(open.stderr.contains("only on loopback"), open.stderr)
    }
}
