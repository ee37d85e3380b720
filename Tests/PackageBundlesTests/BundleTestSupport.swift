import Foundation
import XCTest
import DebianPackage
import IMAFormat
import PackageBundles
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Temp directories (under $TMPDIR, removed when each test ends: `makeTempDir` of SignetTestSupport),
/// key fixtures, and .debs built by dpkg-deb.
class BundleTestCase: XCTestCase {
    /// A fresh directory's path, removed when the test ends.
    func tempPath() -> String { makeTempDir("signet-bundle-test").path }

    /// A CA and a signing certificate under a fresh directory.
    func makeKeys(_ algorithm: KeyAlgorithm = .rsa(bits: 2048), name: String = "ima") throws -> KeyFixture {
        try KeyFixture(in: makeTempDir("signet-bundle-keys"), algorithm: algorithm, name: name)
    }

    @discardableResult
    func tool(_ name: String, _ args: [String], package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = try requiredTool(name, package: package, file: file, line: line)
        let r = try runProgram(path, args)
        XCTAssertEqual(r.status, 0, "\(name) \(args.joined(separator: " ")): \(r.output)", file: file, line: line)
        return r.stdout
    }

    /// A package built by dpkg-deb: regular files of several sizes, a hard link, a symlink, an
    /// empty file, a script, and a name past 100 bytes.
    func buildDeb(in dir: String, package: String = "signet-hello", version: String = "1.0-1", architecture: String = "amd64",
                  compression: String = "xz", extra: String = "") throws -> String {
        let root = dir + "/tree-\(package)-\(version)-\(architecture)-\(compression)-\(extra.count)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/DEBIAN", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        let deep = "/usr/lib/\(package)/" + String(repeating: "nested-directory/", count: 6)
        try fm.createDirectory(atPath: root + deep, withIntermediateDirectories: true)
        try "Package: \(package)\nVersion: \(version)\nArchitecture: \(architecture)\nMaintainer: Signet <t@example.org>\nDescription: test\n"
            .write(toFile: root + "/DEBIAN/control", atomically: true, encoding: .utf8)
        var rng = SeededGenerator(seed: UInt64(package.utf8.count * 31 + version.utf8.count))
        _ = fm.createFile(atPath: root + "/usr/bin/\(package)", contents: Data("#!/bin/sh\necho hello from \(package) \(version)\(extra)\n".utf8),
                          attributes: [.posixPermissions: 0o755])
        _ = fm.createFile(atPath: root + "/usr/bin/\(package)-data", contents: Data(rng.bytes(70_000)), attributes: [.posixPermissions: 0o644])
        _ = fm.createFile(atPath: root + "/usr/bin/\(package)-empty", contents: Data(), attributes: [.posixPermissions: 0o644])
        _ = fm.createFile(atPath: root + deep + "module.so", contents: Data(rng.bytes(513)), attributes: [.posixPermissions: 0o644])
        XCTAssertEqual(link(root + "/usr/bin/\(package)", root + "/usr/bin/\(package)-link"), 0)
        try fm.createSymbolicLink(atPath: root + "/usr/bin/\(package)-sym", withDestinationPath: package)
        let deb = dir + "/\(package)_\(version)_\(architecture)-\(compression)\(extra.isEmpty ? "" : "-x").deb"
        try tool("dpkg-deb", ["--root-owner-group", "-Z\(compression)", "--build", root, deb], package: "dpkg")
        return deb
    }

    func builder(_ keys: KeyFixture, hash: HashAlgorithm = .sha256, jobs: Int = 2) throws -> BundleBuilder {
        var options = SigningOptions()
        options.hashAlgorithm = hash
        options.jobs = jobs
        let pipeline = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options)
        return BundleBuilder(pipeline: pipeline, created: "2026-12-01T00:00:00Z", tool: "signet test", jobs: jobs)
    }

    func build(_ debs: [String], _ keys: KeyFixture, hash: HashAlgorithm = .sha256) throws -> [BuiltBundle] {
        try builder(keys, hash: hash).build(debs).map { try $0.get() }
    }
}

func bytes(of path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

func write(_ bytes: [UInt8], to path: String) {
    XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), path)
}

/// The BundleError a body threw (and a failure when it threw none or another kind).
func expectBundleError<T>(_ code: BundleError.Code, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> T) -> BundleError? {
    do {
        _ = try body()
        XCTFail("expected \(code), no error", file: file, line: line)
    } catch let e as BundleError {
        XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected BundleError \(code), got \(error)", file: file, line: line)
    }
    return nil
}
