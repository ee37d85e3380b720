import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
@testable import TPM
@testable import TPMDevice

/// Base class of the tests that need a TPM: a fresh swtpm per test, with its
/// state in a temporary directory, stopped in tearDown.
class SwtpmTestCase: XCTestCase {
    var dir: TempDir!
    var swtpm: Swtpm!

    /// State set up before swtpm starts (e.g. by swtpm_setup); nil for a blank TPM.
    func prepareState(_ stateDir: String) throws {}

    override func setUpWithError() throws {
        try Swtpm.requireTools()
        dir = TempDir("signet-tpm")
        dir.mkdir("state")
        try prepareState(dir.url("state"))
        swtpm = Swtpm(stateDir: dir.url("state"))
        try swtpm.start()
    }

    override func tearDown() {
        swtpm?.stop()
        swtpm = nil
        dir?.remove()
        dir = nil
        super.tearDown()
    }

    /// Runs `body` with a context that is closed when it returns, so tpm2-tools
    /// can use the simulator afterwards.
    func withTPM<T>(_ body: (TPMContext) throws -> T) throws -> T {
        let tpm = try TPMContext(tcti: swtpm.tcti)
        return try withExtendedLifetime(tpm) { try body(tpm) }
    }

    /// Extends `pcr` in the sha256 bank with tpm2_pcrextend and returns the digest extended.
    @discardableResult
    func extendSHA256(_ pcr: Int, _ seed: String) throws -> [UInt8] {
        let digest = Digester.hash(Array(seed.utf8), .sha256)
        try swtpm.tool("tpm2_pcrextend", ["\(pcr):sha256=\(Hex.encode(digest))"])
        return digest
    }

    func read(_ name: String) throws -> [UInt8] { try FileBytes.read(dir.url(name)) }

    /// A fresh nonce.
    func nonce(_ count: Int = 32) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Asserts `body` throws a QuoteVerificationError with `code`.
    func assertRejected(_ code: QuoteVerificationError.Code, _ body: () throws -> Any,
                        file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected \(code), but the quote verified", file: file, line: line)
        } catch let error as QuoteVerificationError {
            XCTAssertEqual(error.code, code, error.description, file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }
}
