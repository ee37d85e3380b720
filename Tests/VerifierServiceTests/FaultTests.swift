import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import SignetTestSupport
import VerifierAPI

/// The verifier killed (SIGKILL) in the middle of a round: after a restart no verdict is lost
/// or duplicated, and the node resumes incrementally from the last stored state.
final class FaultTests: FleetTestCase {
    func testKilledMidRoundLosesNothingAndTheNodeResumesIncrementally() throws {
        let database = "sqlite:" + dir.url("v.db")
        let first = VerifierProcess(dir: dir, name: "v1", database: database)
        try first.start()
        try uploadReference(first)
        let node = try SimulatedNode(id: "node-1", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(first.url).status, 0)
        first.stop()

        // A verifier that pauses between verifying and storing; killed during the pause.
        let slow = VerifierProcess(dir: dir, name: "v2", database: database,
                                   environment: ["SIGNET_VERIFIER_FAULT_DELAY_BEFORE_COMMIT_MS": "4000"])
        try slow.start()
        try node.run([programs[0]])
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: signetBinary)
        agent.arguments = ["agent", "run", "--once", "--tcti", node.swtpm.tcti, "--verifier", slow.url, "--state", node.stateDir,
                           "--node-id", node.id, "--log", node.logPath, "--boot-id", "boot-1", "--key-type", "ecc"]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        usleep(2_000_000)  // the round is verified and waiting to be stored
        XCTAssertTrue(agent.isRunning, "the agent should still be waiting for the verdict")
        slow.stop(SIGKILL)
        agent.waitUntilExit()
        XCTAssertEqual(agent.terminationStatus, 2, "the agent reports the lost connection as an error, not a verdict")

        let restarted = VerifierProcess(dir: dir, name: "v3", database: database)
        try restarted.start()
        defer { restarted.stop() }
        XCTAssertEqual(try history(restarted, node.id).map(\.round), [1], "the killed round stored nothing, the earlier one is kept")
        let resumed = try node.attest(restarted.url)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.stdout.contains("round 2 pass"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("from entry 3"), "resumed from the stored position, not from entry 0: \(resumed.stdout)")
        let rounds = try history(restarted, node.id)
        XCTAssertEqual(rounds.map(\.round), [2, 1], "no verdict lost or duplicated")
        XCTAssertEqual(rounds.first?.verifier, "v3")
    }
}
