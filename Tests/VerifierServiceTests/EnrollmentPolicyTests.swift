import Foundation
import XCTest
import SignetTestSupport
import VerifierAPI

/// `--enroll ek-ca`: only TPMs whose EK certificate chains to the configured CA may enrol.
final class EnrollmentPolicyTests: FleetTestCase {
    func testOnlyTPMsWithAnEKCertificateFromTheCAEnrol() throws {
        let vendor = try SimulatedNode(id: "certified", dir: dir, keyType: "rsa", provisionEKCertificate: true)
        let bare = try SimulatedNode(id: "bare", dir: dir, keyType: "rsa")
        let localCA = "/var/lib/swtpm-localca"
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"), extraArguments: [
            "--enroll", "ek-ca", "--ek-ca", "\(localCA)/issuercert.pem", "--ek-ca", "\(localCA)/swtpm-localca-rootca-cert.pem"])
        try verifier.start()
        defer { verifier.stop() }
        for node in [vendor, bare] { try node.boot() }

        let admitted = try vendor.attest(verifier.url)
        XCTAssertEqual(admitted.status, 0, admitted.output)
        XCTAssertTrue(admitted.stdout.contains("enrolled certified"), admitted.stdout)

        let refused = try bare.attest(verifier.url)
        XCTAssertEqual(refused.status, 2, refused.output)
        XCTAssertTrue(refused.stderr.contains("ek-not-admitted"), refused.stderr)

        // A CA that did not issue the EK certificate admits nobody.
        let strict = VerifierProcess(dir: dir, name: "strict", database: dir.url("strict.db"),
                                     extraArguments: ["--enroll", "ek-ca", "--ek-ca", keys.caCertPath])
        try strict.start()
        defer { strict.stop() }
        let other = try runProgram(signetBinary, ["agent", "run", "--once", "--tcti", vendor.swtpm.tcti, "--verifier", strict.url,
                                                  "--state", dir.url("strict-agent"), "--node-id", "certified", "--log", vendor.logPath,
                                                  "--key-type", "rsa"])
        XCTAssertEqual(other.status, 2, other.output)
        XCTAssertTrue(other.stderr.contains("ek-not-admitted") && other.stderr.contains("does not chain"), other.stderr)
        XCTAssertEqual(try fleet(strict).nodes.count, 0)

        // A bad --ek-ca file stops the verifier at start, naming the file.
        let broken = dir.write("not-a-cert.pem", "hello")
        let start = try runProgram(signetBinary, ["verifier", "serve", "--database", dir.url("x.db"), "--listen", "127.0.0.1:0",
                                                  "--admin-token-file", verifier.adminTokenFile, "--enroll", "ek-ca", "--ek-ca", broken])
        XCTAssertEqual(start.status, 2, start.output)
        XCTAssertTrue(start.stderr.contains("not-a-cert.pem"), start.stderr)
    }
}
