import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
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

    /// A program run while `agent run` reads the log does not fail the round: the agent quotes
    /// first, closes the TPM, then reads the log (which then holds every entry the quote covers).
    /// The log is a FIFO the test writes; the new entry is extended into PCR 10 after the agent
    /// has opened the log and before it can finish reading it.
    func testAProgramRunDuringTheLogReadLeavesTheRoundPassing() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "racer", dir: dir)
        try node.boot()
        try node.run([programs[0]])
        let live = dir.url("live_measurements")
        XCTAssertEqual(mkfifo(live, 0o600), 0, "mkfifo: \(errno)")

        let args = ["agent", "run", "--once", "--tcti", node.swtpm.tcti, "--verifier", verifier.url, "--state", node.stateDir,
                    "--node-id", node.id, "--log", live, "--boot-id", "boot-1", "--key-type", node.keyType]
        let signetPath = signetBinary
        nonisolated(unsafe) var round: ProcessResult?
        let agent = Thread { round = try? runProgram(signetPath, args) }
        agent.start()
        let fd = openFIFOWriter(live, giveUpWhen: { agent.isFinished })
        XCTAssertGreaterThanOrEqual(fd, 0, "the agent never opened its log: \(round?.output ?? "still running")")
        guard fd >= 0 else { return }
        let logged = try FileBytes.read(node.logPath, limit: 1 << 24)
        XCTAssertEqual(logged.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, logged.count)
        // The second program runs now: extended into PCR 10, logged only after this read.
        let next = TestLogEntry.imaNG(programs[1].path, digest: Digester.hash(programs[1].content, .sha256))
        try node.swtpm.tool("tpm2_pcrextend", ["10:sha256=\(Hex.encode(TestLogEncoder.extendValue(next, bank: .sha256)))"])
        close(fd)
        while !agent.isFinished { usleep(10_000) }
        let result = try XCTUnwrap(round, "agent run did not run")
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("round 1 pass"), result.output)
    }

    /// Verdicts stored for the node so far (0 before it is enrolled), without asserting.
    func roundsStored(_ verifier: VerifierProcess, _ node: String) -> Int {
        guard let response = try? historyResponse(verifier, node), response.status == 200,
              let history = try? JSONDecoder().decode(NodeHistory.self, from: Data(response.body)) else { return 0 }
        return history.attestations.count
    }
}
