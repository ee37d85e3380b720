import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import SignetTestSupport
import VerifierAPI

final class AgentLoopTests: FleetTestCase {
    /// `agent run --interval` keeps attesting until stopped; a verifier that forgot the node
    /// (a new database) gets a fresh enrolment from the agent instead of an endless 401.
    func testTheAgentAttestsEveryIntervalAndReEnrolsWhenForgotten() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v1.db"))
        try verifier.start()
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "looper", dir: dir)
        try node.boot()
        try node.run(programs)

        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: signetBinary)
        agent.arguments = ["agent", "run", "--interval", "500ms", "--tcti", node.swtpm.tcti, "--verifier", verifier.url,
                           "--state", node.stateDir, "--node-id", node.id, "--log", node.logPath, "--boot-id", "boot-1", "--key-type", "ecc"]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL); agent.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(30)
        var rounds = 0
        while Date() < deadline {
            rounds = roundsStored(verifier, node.id)
            if rounds >= 3 { break }
            usleep(200_000)
        }
        XCTAssertGreaterThanOrEqual(rounds, 3, "the agent keeps attesting")
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        XCTAssertTrue(try history(verifier, node.id).allSatisfy(\.passed))
        verifier.stop()

        // A verifier with a new, empty database: the stored token means nothing there.
        let fresh = VerifierProcess(dir: dir, name: "fresh", database: dir.url("v2.db"))
        try fresh.start()
        defer { fresh.stop() }
        try uploadReference(fresh)
        let r = try node.attest(fresh.url)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("enrolling again"), r.stderr)
        XCTAssertTrue(r.stdout.contains("enrolled looper") && r.stdout.contains("round 1 pass"), r.stdout)
    }

    /// Verdicts stored for the node so far (0 before it is enrolled), without asserting.
    func roundsStored(_ verifier: VerifierProcess, _ node: String) -> Int {
        guard let response = try? historyResponse(verifier, node), response.status == 200,
              let history = try? JSONDecoder().decode(NodeHistory.self, from: Data(response.body)) else { return 0 }
        return history.attestations.count
    }
}
