import Foundation
import XCTest
import SignetTestSupport
import VerifierAPI

final class RebootAndGroupTests: FleetTestCase {
    /// A reboot restarts the log from entry 0 (new boot id, TPM resetCount up); a node moved to
    /// another group is judged by that group's reference and its verdict names that version.
    func testARebootRestartsTheLogAndGroupsChooseTheReference() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "rebooter", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        try node.run([programs[0]])
        let second = try node.attest(verifier.url)
        XCTAssertTrue(second.stdout.contains("round 2 pass") && second.stdout.contains("from entry 3"), second.stdout)

        try node.reboot()
        try node.boot()
        try node.run([programs[1]])
        let afterReboot = try node.attest(verifier.url)
        XCTAssertEqual(afterReboot.status, 0, afterReboot.output)
        XCTAssertTrue(afterReboot.stdout.contains("round 3 pass") && afterReboot.stdout.contains("from entry 0"), afterReboot.stdout)

        // A "web" group whose reference trusts nothing but excludes /usr/bin/b: the node moves there.
        let web = try signet(["fleet", "upload-reference", "--verifier", verifier.url, "--admin-token-file", verifier.adminTokenFile,
                              "--group", "web", "--exclude", "/usr/bin/b"])
        XCTAssertEqual(web.status, 0, web.output)
        XCTAssertTrue(web.stdout.contains("group web: reference v1"), web.stdout)
        let assign = try admin(verifier, ["assign", "--node", node.id, "--group", "web"])
        XCTAssertEqual(assign.status, 0, assign.output)
        try node.run([programs[0]])
        let judgedByWeb = try node.attest(verifier.url)
        XCTAssertEqual(judgedByWeb.status, 1, "/usr/bin/a is not in web's reference: \(judgedByWeb.output)")
        XCTAssertTrue(judgedByWeb.stdout.contains("group web reference v1"), judgedByWeb.stdout)
        XCTAssertTrue(judgedByWeb.stdout.contains("/usr/bin/a"), judgedByWeb.stdout)
        let records = try history(verifier, node.id)
        XCTAssertEqual(records.map(\.group), ["web", "default", "default", "default"])
        XCTAssertEqual(records.first?.referenceVersion, 1)

        let unknown = try admin(verifier, ["assign", "--node", "nobody", "--group", "web"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("not-found"), unknown.stderr)
    }
}
