import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server for tests: a fresh cluster (initdb) under a directory the caller owns,
/// listening on a free loopback port (never a fixed one) with trust authentication for role
/// `signet`, database `signet`. Started directly (`postgres -D …`), stopped by PID (SIGINT = fast
/// shutdown, then SIGKILL after 10 s) in `stop()` and deinit. As root, initdb and postgres run as
/// the `postgres` system user (they refuse root) and the directory is chowned to it.
public final class PostgresServer {
    public let dataDir: String
    /// The TCP port, picked at the first `start()` and kept across `restart()`.
    public private(set) var port: UInt16 = 0
    private var process: Process?
    private var initialized = false

    /// The cluster inside `dataDir` (also the unix socket directory).
    public var clusterDir: String { "\(dataDir)/pgdata" }
    /// The server log (stdout and stderr of `postgres`).
    public var logPath: String { "\(dataDir)/postgres.log" }

    /// `postgres://signet@127.0.0.1:PORT/signet`.
    public var url: String { url(database: "signet") }

    /// The URL of another database on this server (create it first, e.g. with `createDatabase`).
    public func url(database: String) -> String { "postgres://signet@127.0.0.1:\(port)/\(database)" }

    public init(dataDir: String) { self.dataDir = dataDir }

    deinit { stop() }

    /// The newest installed PostgreSQL `bin` directory (`/usr/lib/postgresql/<version>/bin`), or
    /// the directory of `initdb` on PATH.
    public static var binDir: String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap { v -> (Double, String)? in Double(v).map { ($0, v) } }
            .sorted { $0.0 > $1.0 }
        for (_, v) in versions {
            let dir = "\(base)/\(v)/bin"
            if FileManager.default.isExecutableFile(atPath: "\(dir)/initdb"),
               FileManager.default.isExecutableFile(atPath: "\(dir)/postgres") { return dir }
        }
        if let initdb = which("initdb") { return (initdb as NSString).deletingLastPathComponent }
        return nil
    }

    /// Skips the test when the PostgreSQL server binaries (or, as root, the `postgres` user) are missing.
    public static func requireInstalled() throws {
        guard let dir = binDir else {
            throw XCTSkip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
        }
        for tool in ["initdb", "postgres", "pg_isready", "createdb"]
        where !FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            throw XCTSkip("\(dir)/\(tool) is missing (apt-get install postgresql)")
        }
        if geteuid() == 0 && getpwnam("postgres") == nil {
            throw XCTSkip("running as root and there is no `postgres` user to run the server as")
        }
        if geteuid() == 0 && which("setpriv") == nil {
            throw XCTSkip("running as root and setpriv (util-linux) is not installed")
        }
    }

    /// Creates the cluster on the first call, then starts the server on a free loopback port
    /// (the same port on later calls) and waits until it accepts connections.
    public func start() throws {
        precondition(process == nil, "postgres already running")
        guard let bin = Self.binDir else { throw Self.failure("PostgreSQL binaries not found") }
        if !initialized {
            try initCluster(bin)
        }
        var lastError = ""
        for attempt in 0..<5 {
            // A restart keeps its port (clients reconnect to the same URL); a failed first start picks another.
            if port == 0 || (attempt > 0 && !createdDatabase) { port = try Swtpm.freePort() }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "\(bin)/postgres")
            p.arguments = ["-D", clusterDir, "-p", "\(port)", "-k", clusterDir,
                           "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                           "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
                           "-c", "max_connections=100", "-c", "logging_collector=off"]
            try runAsOwner(p)
            if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
            let log = FileHandle(forWritingAtPath: logPath)!
            log.seekToEndOfFile()
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = log
            p.standardError = log
            try p.run()
            try? log.close()
            let deadline = Date().addingTimeInterval(30)
            while p.isRunning && Date() < deadline {
                if Swtpm.canConnect(port), isReady(bin) {
                    process = p
                    if !createdDatabase { try createDatabase("signet"); createdDatabase = true }
                    return
                }
                usleep(50_000)
            }
            Self.terminate(p)
            lastError = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "no log"
        }
        throw Self.failure("postgres did not start:\n\(lastError.suffix(3000))")
    }

    private var createdDatabase = false

    /// Stops the server (SIGINT: fast shutdown, then SIGKILL after 10 s) and waits for it to exit.
    public func stop() {
        guard let p = process else { return }
        process = nil
        Self.terminate(p)
    }

    /// Stops and starts again on the same port and data (existing connections are cut).
    public func restart() throws {
        stop()
        try start()
    }

    /// Creates a database owned by `signet` on the running server.
    public func createDatabase(_ name: String) throws {
        guard let bin = Self.binDir else { throw Self.failure("PostgreSQL binaries not found") }
        let r = try runProgram("\(bin)/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "signet", name])
        guard r.status == 0 else { throw Self.failure("createdb \(name) failed: \(r.output)") }
    }

    // MARK: - Internals

    private func initCluster(_ bin: String) throws {
        try FileManager.default.createDirectory(atPath: clusterDir, withIntermediateDirectories: true)
        chmod(clusterDir, 0o700)
        if geteuid() == 0, let pw = getpwnam("postgres") {
            chown(dataDir, pw.pointee.pw_uid, pw.pointee.pw_gid)
            chown(clusterDir, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(bin)/initdb")
        p.arguments = ["-D", clusterDir, "-U", "signet", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        try runAsOwner(p)
        let out = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Self.failure("initdb failed (\(p.terminationStatus)):\n\(text)") }
        initialized = true
    }

    /// As root, rewrites `p` to run its program as the `postgres` user via setpriv (which execs,
    /// so the PID is the server's own); otherwise leaves it to run directly.
    private func runAsOwner(_ p: Process) throws {
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        env.removeValue(forKey: "PGDATA")
        guard geteuid() == 0 else { p.environment = env; return }
        guard let setpriv = which("setpriv") else { throw Self.failure("setpriv not found (needed to run postgres as non-root)") }
        let program = p.executableURL!.path
        p.executableURL = URL(fileURLWithPath: setpriv)
        p.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program] + (p.arguments ?? [])
        env["HOME"] = dataDir
        env["USER"] = "postgres"
        env["LOGNAME"] = "postgres"
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: dataDir)
    }

    private func isReady(_ bin: String) -> Bool {
        guard let r = try? runProgram("\(bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)", "-U", "signet", "-d", "postgres"])
        else { return false }
        return r.status == 0
    }

    /// SIGINT is PostgreSQL's fast shutdown.
    private static func terminate(_ p: Process) { stopProcess(p, signal: SIGINT, grace: 10) }

    private static func failure(_ message: String) -> NSError {
        NSError(domain: "PostgresServer", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
    }
}
