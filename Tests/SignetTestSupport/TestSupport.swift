import Foundation
import XCTest
import CLinux
import IMAFormat
import SignetCrypto

/// A fresh directory under `$TMPDIR` (else /tmp), removed by `remove()` or when released.
///
/// XCTest on Linux never deinitializes a test case, so a TempDir kept in a test case's property
/// must be removed in `tearDown` (which XCTest runs also after a failure or an XCTSkip thrown in
/// setUp), or made with `makeTempDir`, which does that. One kept for the whole process (a static
/// fixture) is made with `TempDir(label, forProcess: true)`. Whatever is left when the process
/// exits is removed then, and a directory that was not meant to live that long is reported on
/// stderr ("TempDir: ... outlived its test"), which tools/test counts as a failure.
public final class TempDir: Sendable {
    public let path: String

    public init(_ label: String = "signet-test", forProcess: Bool = false) {
        var template = Array("\(Self.base)/\(label).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp \(Self.base)/\(label).XXXXXX failed: errno \(errno)")
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o755)
        Self.live.register(path, forProcess: forProcess)
    }

    deinit { remove() }

    /// Deletes the directory and everything in it (again: nothing).
    public func remove() {
        guard Self.live.unregister(path) else { return }
        Self.removeTree(path)
    }

    /// `$TMPDIR` without trailing slashes when set and not empty, else /tmp.
    public static var base: String {
        guard let value = ProcessInfo.processInfo.environment["TMPDIR"], value.contains(where: { $0 != "/" }) else { return "/tmp" }
        var trimmed = Substring(value)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    /// Removes `path` unless something is mounted inside (a chroot's /proc, /sys or /dev that a
    /// failed test left): deleting through a bind mount of /dev would delete the host's.
    private static func removeTree(_ path: String) {
        if let mounted = mountPoints().first(where: { $0 == path || $0.hasPrefix(path + "/") }) {
            FileHandle.standardError.write(Data("TempDir: \(path) left in place: \(mounted) is mounted\n".utf8))
            return
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The mount points of this process's mount namespace (/proc/self/mountinfo, field 5, octal escapes decoded).
    static func mountPoints() -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 4 else { return nil }
            var bytes: [UInt8] = []
            var field = Array(fields[4].utf8)[...]
            while let c = field.popFirst() {
                if c == UInt8(ascii: "\\"), field.count >= 3, let v = UInt8(String(decoding: field.prefix(3), as: UTF8.self), radix: 8) {
                    bytes.append(v)
                    field = field.dropFirst(3)
                } else {
                    bytes.append(c)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The directories not removed yet; what is left at exit is removed then.
    private static let live = Registry()

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var paths: [String: Bool] = [:]  // path → made for the whole process
        private var hooked = false

        func register(_ path: String, forProcess: Bool) {
            lock.lock(); defer { lock.unlock() }
            paths[path] = forProcess
            if !hooked {
                hooked = true
                atexit { TempDir.live.removeAll() }
            }
        }

        /// False when it was removed already.
        func unregister(_ path: String) -> Bool {
            lock.lock(); defer { lock.unlock() }
            return paths.removeValue(forKey: path) != nil
        }

        func removeAll() {
            lock.lock()
            let left = paths
            paths = [:]
            lock.unlock()
            for (path, forProcess) in left.sorted(by: { $0.key < $1.key }) {
                if !forProcess {
                    FileHandle.standardError.write(Data("TempDir: \(path) outlived its test (removed at exit; remove it in tearDown)\n".utf8))
                }
                TempDir.removeTree(path)
            }
        }
    }

    public func url(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes a file (creating parent directories) and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) -> String {
        let p = url(name)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let created = FileManager.default.createFile(atPath: p, contents: Data(bytes), attributes: [.posixPermissions: mode])
        precondition(created, "cannot create \(p)")
        return p
    }

    @discardableResult
    public func write(_ name: String, _ text: String, mode: Int = 0o644) -> String {
        write(name, Array(text.utf8), mode: mode)
    }

    public func mkdir(_ name: String) {
        try! FileManager.default.createDirectory(atPath: url(name), withIntermediateDirectories: true)
    }
}

extension XCTestCase {
    /// A TempDir removed when this test ends, however it ends (a teardown block: XCTest runs
    /// them, last added first, before `tearDown`, also after a failure or an XCTSkip in setUp).
    /// Start a process that works in it only after this call, and stop it in a teardown block
    /// added later, so that it is stopped before the directory goes.
    public func makeTempDir(_ label: String = "signet-test") -> TempDir {
        let dir = TempDir(label)
        addTeardownBlock { dir.remove() }
        return dir
    }
}

/// A CA and one IMA signing certificate of a given algorithm, as files.
public struct KeyFixture {
    public let caKey: PrivateKey
    public let ca: Certificate
    public let key: PrivateKey
    public let certificate: Certificate
    public let keyPath: String
    public let certPath: String
    public let certDERPath: String
    public let caCertPath: String

    public init(in dir: TempDir, algorithm: KeyAlgorithm = .rsa(bits: 2048), name: String = "ima",
                validityDays: Int = 30, notBefore: Int? = nil) throws {
        caKey = try PrivateKey.generate(.ecdsa(curve: .p256))
        ca = try CertificateAuthority.makeRoot(key: caKey, profile: .init(subject: "CN=Test CA \(name)", validityDays: 365))
        key = try PrivateKey.generate(algorithm)
        certificate = try CertificateAuthority.issueSigningCertificate(
            for: key.publicKey, profile: .init(subject: "CN=Test \(name) \(algorithm)", validityDays: validityDays, notBefore: notBefore),
            ca: ca, caKey: caKey)
        keyPath = dir.url("\(name).key.pem")
        certPath = dir.url("\(name).crt.pem")
        certDERPath = dir.url("\(name).crt.der")
        caCertPath = dir.url("\(name)-ca.crt.pem")
        try FileBytes.writeAtomically(try key.pemEncoded(), to: keyPath, mode: 0o600)
        try FileBytes.writeAtomically(certificate.pem, to: certPath, mode: 0o644)
        try FileBytes.writeAtomically(certificate.der, to: certDERPath, mode: 0o644)
        try FileBytes.writeAtomically(ca.pem, to: caCertPath, mode: 0o644)
    }
}

/// The result of running a program.
public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var output: String { stdout + stderr }
}

/// Runs a program to completion with captured output.
@discardableResult
public func runProgram(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       currentDirectory: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently so a full pipe never blocks the child.
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return ProcessResult(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// Polls `condition` (every 10 ms) until it holds or `timeout` seconds pass; returns whether it held.
/// The readiness check tests use instead of sleeping for a guessed time.
@discardableResult
public func waitUntil(timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        usleep(10_000)
    }
}

/// Opens the FIFO at `path` for writing as soon as a reader has it open, in
/// blocking mode from then on; -1 when `giveUp()` turns true first or after
/// `timeout` seconds. (A FIFO opened for writing without a reader fails with
/// ENXIO when non-blocking, so this polls instead of hanging on a reader that
/// never comes.)
public func openFIFOWriter(_ path: String, timeout: TimeInterval = 60, giveUpWhen giveUp: () -> Bool) -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while !giveUp() && Date() < deadline {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            return fd
        }
        usleep(10_000)
    }
    return -1
}

/// Finds a program on PATH; nil when absent.
public func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// The path of a reference tool the tests compare against. tools/setup installs it and CI must
/// run these tests, so a missing tool is a failure (and the test stops), never a quiet skip.
public func requiredTool(_ name: String, package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    guard let path = which(name) else {
        XCTFail("\(name) not found on PATH: run tools/setup (installs \(package))", file: file, line: line)
        throw XCTSkip("\(name) missing")
    }
    return path
}

/// Stops a child process by PID: `signal`, then SIGKILL if it is still running after `grace`
/// seconds; returns once it has exited.
public func stopProcess(_ p: Process, signal: Int32 = SIGTERM, grace: TimeInterval = 5) {
    guard p.isRunning else { p.waitUntilExit(); return }
    kill(p.processIdentifier, signal)
    let deadline = Date().addingTimeInterval(grace)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
}

/// The `signet` binary built next to the test bundle.
public var signetBinary: String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    // The test runner lives in …/debug/SignetPackageTests.xctest (a file on Linux).
    if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
    return "\(dir)/signet"
}

/// Extended attribute access for assertions.
public enum Xattr {
    public static func get(_ path: String, _ name: String = "security.ima") -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { lgetxattr(path, name, $0.baseAddress, $0.count) }
        return n < 0 ? nil : Array(buf[0..<n])
    }

    public static func set(_ path: String, _ value: [UInt8], _ name: String = "security.ima") {
        let rc = value.withUnsafeBytes { lsetxattr(path, name, $0.baseAddress, $0.count, 0) }
        precondition(rc == 0, "setxattr \(path) failed: errno \(errno)")
    }

    public static func remove(_ path: String, _ name: String = "security.ima") {
        _ = lremovexattr(path, name)
    }
}

/// Makes `count` files of `size` pseudo-random bytes under `dir/prefix`.
public func makeFiles(in dir: TempDir, prefix: String, count: Int, size: Int, mode: Int = 0o755) -> [String] {
    var rng = SystemRandomNumberGenerator()
    return (0..<count).map { i in
        var bytes = [UInt8](repeating: 0, count: size)
        for j in stride(from: 0, to: size, by: 8) {
            let v = rng.next()
            for k in 0..<min(8, size - j) { bytes[j + k] = UInt8(truncatingIfNeeded: v >> (k * 8)) }
        }
        return dir.write("\(prefix)/f\(i)", bytes, mode: mode)
    }
}
