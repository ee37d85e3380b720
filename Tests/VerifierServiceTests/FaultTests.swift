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

        // A verifier that pauses between verifying and storing (for longer than the test can
        // take: it is killed as soon as the pause is seen, never by a guessed time).
        let slow = VerifierProcess(dir: dir, name: "v2", database: database,
                                   environment: ["SIGNET_VERIFIER_FAULT_DELAY_BEFORE_COMMIT_MS": "\(Self.pauseSeconds * 1000)"])
        try slow.start()
        let verifierPID = try XCTUnwrap(slow.process?.processIdentifier)
        try node.run([programs[0]])
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: signetBinary)
        agent.arguments = ["agent", "run", "--once", "--tcti", node.swtpm.tcti, "--verifier", slow.url, "--state", node.stateDir,
                           "--node-id", node.id, "--log", node.logPath, "--boot-id", "boot-1", "--key-type", "ecc"]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL); agent.waitUntilExit() } }
        // The round is verified and waiting to be stored: a verifier thread is in the pause.
        let paused = waitUntil(timeout: 60) { Self.isPausing(verifierPID) || !agent.isRunning }
        XCTAssertTrue(paused && Self.isPausing(verifierPID), "the verifier never reached the pause before storing the round")
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

    /// The fault delay: longer than any wait of the test, so the kill always lands in it.
    static let pauseSeconds = 600

    /// Whether a thread of `pid` sleeps in the fault delay (asked for `pauseSeconds` or more):
    /// nothing else in the verifier sleeps that long.
    static func isPausing(_ pid: pid_t) -> Bool {
        sleepingThreads(of: pid).contains { $0.interval.tv_sec >= pauseSeconds }
    }
}
