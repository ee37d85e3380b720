import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real swtpm (TPM 2.0 simulator) for one test: TCP server and control
/// ports picked free on loopback, state in a directory the caller owns,
/// stopped by PID (SIGTERM, then SIGKILL after 5 s) in `stop()` and deinit.
public final class Swtpm {
    public let stateDir: String
    public private(set) var port: UInt16 = 0
    public private(set) var controlPort: UInt16 = 0
    private var process: Process?

    /// The TCTI for TPMContext and for tpm2-tools `-T` / TPM2TOOLS_TCTI.
    public var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

    /// Skips the test when swtpm or tpm2-tools are not installed.
    public static func requireTools() throws {
        for tool in ["swtpm", "tpm2_pcrread", "tpm2_quote", "tpm2_checkquote"] where which(tool) == nil {
            throw XCTSkip("\(tool) is not installed (apt-get install swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0)")
        }
    }

    public init(stateDir: String) { self.stateDir = stateDir }

    deinit { stop() }

    /// Starts swtpm on fresh free ports (retrying if another process takes one first)
    /// and waits until both ports accept connections.
    public func start() throws {
        precondition(process == nil, "swtpm already running")
        var lastError = ""
        for _ in 0..<5 {
            let pair = try Self.freePortPair()
            let ports = [pair.0, pair.1]
            let p = Process()
            p.executableURL = URL(fileURLWithPath: which("swtpm")!)
            p.arguments = ["socket", "--tpm2",
                           "--tpmstate", "dir=\(stateDir)",
                           "--server", "type=tcp,port=\(ports[0]),bindaddr=127.0.0.1",
                           "--ctrl", "type=tcp,port=\(ports[1]),bindaddr=127.0.0.1",
                           "--flags", "not-need-init,startup-clear",
                           "--log", "file=\(stateDir)/swtpm.log"]
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(10)
            while p.isRunning && Date() < deadline {
                if Self.canConnect(ports[1]) && Self.canConnect(ports[0]) {
                    process = p
                    port = ports[0]
                    controlPort = ports[1]
                    return
                }
                usleep(20_000)
            }
            Self.terminate(p)
            lastError = (try? String(contentsOfFile: "\(stateDir)/swtpm.log", encoding: .utf8)) ?? "no log"
        }
        throw NSError(domain: "Swtpm", code: 1, userInfo: [NSLocalizedDescriptionKey: "swtpm did not start: \(lastError)"])
    }

    /// Stops swtpm (SIGTERM, then SIGKILL) and waits for it to exit.
    public func stop() {
        guard let p = process else { return }
        process = nil
        Self.terminate(p)
    }

    /// Stops and starts again on the same state (a TPM power cycle: PCRs reset, seeds kept).
    public func restart() throws {
        stop()
        try start()
    }

    private static func terminate(_ p: Process) { stopProcess(p, signal: SIGTERM, grace: 5) }

    /// Runs a tpm2-tools program against this swtpm. Close any TPMContext first:
    /// a simulator without resource manager serves one connection at a time.
    @discardableResult
    public func tool(_ name: String, _ arguments: [String], in directory: String? = nil,
              file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        guard let path = which(name) else { throw XCTSkip("\(name) is not installed") }
        let result = try runProgram(path, arguments, environment: ["TPM2TOOLS_TCTI": tcti], currentDirectory: directory)
        XCTAssertEqual(result.status, 0, "\(name) \(arguments.joined(separator: " ")): \(result.output)", file: file, line: line)
        return result
    }

    /// Two consecutive loopback ports (P, P+1) that were free a moment ago:
    /// the swtpm TCTI talks to the TPM on P and to the control channel on P+1.
    public static func freePortPair() throws -> (UInt16, UInt16) {
        for _ in 0..<50 {
            let fd = try bindLoopback(0)
            defer { close(fd) }
            let port = try boundPort(fd)
            guard port < UInt16.max, let next = try? bindLoopback(port + 1) else { continue }
            close(next)
            return (port, port + 1)
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// A loopback port that was free a moment ago (and nothing listens on).
    public static func freePort() throws -> UInt16 {
        let fd = try bindLoopback(0)
        defer { close(fd) }
        return try boundPort(fd)
    }

    private static func bindLoopback(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        return fd
    }

    private static func boundPort(_ fd: Int32) throws -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { throw POSIXError(.EBADF) }
        return UInt16(bigEndian: addr.sin_port)
    }

    static func canConnect(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
