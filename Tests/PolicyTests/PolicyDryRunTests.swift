import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport
@testable import Policy

/// Issue 14: the dry run must never call a hole safe. Small trees of real ELF
/// files from this host, signed with a test key, checked under weak policies.
final class PolicyDryRunTests: XCTestCase {
    var dir: TempDir!
    var keys: KeyFixture!

    override func setUpWithError() throws {
        dir = makeTempDir("signet-dry-run")
        keys = try KeyFixture(in: dir)
    }

    /// A Debian-like tree: programs, the loader under a versioned name behind the
    /// PT_INTERP symlink, libc behind libc.so.6, /sbin/init -> /bin/ls with its libraries.
    func makeTree(_ name: String = "root") throws -> String {
        let lib = "\(name)/usr/lib/x86_64-linux-gnu"
        dir.write("\(name)/usr/bin/true", try FileBytes.read("/bin/true"), mode: 0o755)
        dir.write("\(name)/usr/bin/ls", try FileBytes.read("/bin/ls"), mode: 0o755)
        dir.write("\(lib)/ld-2.36-custom.so", try FileBytes.read("/lib64/ld-linux-x86-64.so.2"), mode: 0o755)
        dir.write("\(lib)/libc-2.36.so", try FileBytes.read("/lib/x86_64-linux-gnu/libc.so.6"), mode: 0o755)
        dir.write("\(lib)/libselinux.so.1", try FileBytes.read("/lib/x86_64-linux-gnu/libselinux.so.1"), mode: 0o644)
        dir.write("\(lib)/libpcre2-8.so.0.11.2", try FileBytes.read("/lib/x86_64-linux-gnu/libpcre2-8.so.0"), mode: 0o644)
        dir.mkdir("\(name)/usr/lib64")
        dir.mkdir("\(name)/usr/sbin")
        for (link, target) in [("\(name)/lib", "usr/lib"), ("\(name)/bin", "usr/bin"), ("\(name)/sbin", "usr/sbin"),
                               ("\(name)/lib64", "usr/lib64"),
                               ("\(name)/usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-2.36-custom.so"),
                               ("\(lib)/libc.so.6", "libc-2.36.so"), ("\(lib)/libpcre2-8.so.0", "libpcre2-8.so.0.11.2"),
                               ("\(name)/usr/sbin/init", "/bin/ls")] {
            XCTAssertEqual(symlink(target, dir.url(link)), 0, link)
        }
        return dir.url(name)
    }

    /// Signs every code file of the tree except the image paths in `except`.
    func sign(_ root: String, except: Set<String> = []) throws {
        let files = TreeWalker(selection: FileSelection(mode: .code)).walk([FilePath(root)]).files
            .filter { !$0.imagePaths.contains { except.contains($0.description) } }
        _ = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: SigningOptions()).run(files)
    }

    static let appraiseRules = """
        appraise func=BPRM_CHECK appraise_type=imasig
        appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig
        appraise func=POLICY_CHECK appraise_type=imasig
        appraise func=MODULE_CHECK appraise_type=imasig
        """

    func dryRun(_ root: String, _ policy: String, target: PolicyDryRun.Target = .init()) throws -> PolicyDryRun.Report {
        PolicyDryRun(policy: try IMAPolicy(parsing: policy), trust: TrustStore([keys.certificate]), target: target, jobs: 2)
            .run(root: FilePath(root))
    }

    func testSignedTreePassesUnderExecSigned() throws {
        let root = try makeTree()
        try sign(root)
        let report = try dryRun(root, try PolicyGenerator.generate([.execSigned]).render())
        XCTAssertEqual(report.codeFiles, 6)
        XCTAssertEqual(report.appraised, 6)
        XCTAssertEqual(report.notAppraised, 0)
        XCTAssertTrue(report.enforcing)
        XCTAssertEqual(report.refused.count, 0)
        XCTAssertEqual(report.problems, [])
    }

    func testExt4ExemptionAppraisesNothingOnExt4ButEverythingOnXFS() throws {
        let root = try makeTree()
        try sign(root, except: ["/usr/bin/true"])
        let policy = "dont_appraise fsmagic=0x9fa0\ndont_appraise fsname=ext4\n" + Self.appraiseRules
        let ext4 = try dryRun(root, policy)
        XCTAssertEqual(ext4.appraised, 0)
        XCTAssertEqual(ext4.notAppraised, 6)
        XCTAssertEqual(ext4.refusedFiles, 0, "nothing is refused: that is the hole")
        XCTAssertEqual(ext4.exemptions, [PolicyDryRun.Exemption(ruleLine: 2, rule: "dont_appraise fsname=ext4", files: 6)])
        let problem = try XCTUnwrap(ext4.problems.first { $0.id == .appraisesNothing })
        XCTAssertEqual(problem.id.rawValue, "appraises-nothing")
        XCTAssertEqual(problem.severity, .failure)
        XCTAssertTrue(problem.message.contains("6 of the image's 6 executable files would run unappraised"), problem.message)
        XCTAssertTrue(problem.message.contains("dont_appraise fsname=ext4 (line 2) exempts 6"), problem.message)
        XCTAssertTrue(problem.message.contains("fsmagic=0xef53 fsname=ext4"), problem.message)

        let xfs = try dryRun(root, policy, target: PolicyDryRun.Target(fsmagic: IMAFilesystem.xfs.magic, fsname: "xfs"))
        XCTAssertEqual(xfs.appraised, 6)
        XCTAssertEqual(xfs.notAppraised, 0)
        XCTAssertFalse(xfs.problems.contains { $0.id == .appraisesNothing })
        XCTAssertEqual(xfs.refused.map(\.path.description), ["/usr/bin/true"])
    }

    func testAppraiseRulesForAnotherFilesystemAppraiseNothing() throws {
        let root = try makeTree()
        try sign(root)
        let policy = Self.appraiseRules.replacingOccurrences(of: "appraise_type=imasig", with: "fsname=xfs appraise_type=imasig")
        let report = try dryRun(root, policy)
        XCTAssertEqual(report.appraised, 0)
        let problem = try XCTUnwrap(report.problems.first { $0.id == .appraisesNothing })
        XCTAssertTrue(problem.message.contains("no appraise rule matches 6 (line 1 'appraise func=BPRM_CHECK fsname=xfs"), problem.message)
        // Under half exempt: not reported (one exempt program of six).
        let few = try dryRun(root, "dont_appraise func=BPRM_CHECK fowner=4242\n" + Self.appraiseRules)
        XCTAssertEqual(few.notAppraised, 0)
        XCTAssertNil(few.problems.first { $0.id == .appraisesNothing })
    }

    func testMeasurementOnlyIsNotEnforcingAndNotAFailure() throws {
        let root = try makeTree()
        let report = try dryRun(root, try PolicyGenerator.generate([.measureTCB]).render())
        XCTAssertFalse(report.enforcing)
        XCTAssertEqual(report.appraised, 0)
        XCTAssertEqual(report.problems, [])
    }

    func testLoaderUnderAVersionedNameIsFoundThroughPTInterp() throws {
        let root = try makeTree()
        try sign(root, except: ["/usr/lib/x86_64-linux-gnu/ld-2.36-custom.so"])
        let report = try dryRun(root, try PolicyGenerator.generate([.execSigned]).render())
        XCTAssertEqual(report.problems.map(\.id), [.loaderRefused])
        let problem = try XCTUnwrap(report.problems.first)
        XCTAssertEqual(problem.path, "/usr/lib/x86_64-linux-gnu/ld-2.36-custom.so")
        XCTAssertTrue(problem.message.contains("no dynamically linked program would start (PT_INTERP of"), problem.message)
    }

    func testLibcAndPID1sLibrariesAreFoundThroughDTNeeded() throws {
        let root = try makeTree()
        try sign(root, except: ["/usr/lib/x86_64-linux-gnu/libc-2.36.so", "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2"])
        let report = try dryRun(root, try PolicyGenerator.generate([.execSigned]).render())
        XCTAssertEqual(report.problems.map(\.id), [.libcRefused, .initLibraryRefused])
        XCTAssertEqual(report.problems.map(\.path), ["/usr/lib/x86_64-linux-gnu/libc-2.36.so",
                                                     "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2"])
        let pcre = report.problems[1].message
        XCTAssertTrue(pcre.contains("DT_NEEDED libpcre2-8.so.0 of /usr/lib/x86_64-linux-gnu/libselinux.so.1"), pcre)
        XCTAssertTrue(pcre.contains("init cannot start and the kernel panics"), pcre)
        XCTAssertEqual(ImageProblem.ID.initLibraryRefused.rawValue, "init-library-refused")
    }

    func testLibrariesAreSearchedThroughLdSoConf() throws {
        dir.write("r/usr/sbin/init", try FileBytes.read("/bin/true"), mode: 0o755)
        dir.write("r/opt/c/libc.so.6", try FileBytes.read("/lib/x86_64-linux-gnu/libc.so.6"), mode: 0o644)
        dir.write("r/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
        dir.write("r/etc/ld.so.conf.d/opt.conf", "# comment\n/opt/c\n")
        XCTAssertEqual(symlink("usr/sbin", dir.url("r/sbin")), 0)
        let root = ImageRoot(dir.url("r"))
        XCTAssertEqual(LibraryResolver.configuredDirectories(root), ["opt/c"])
        var resolver = LibraryResolver(root: root)
        let deps = try ELFReader.dependencies(path: dir.url("r/usr/sbin/init"))
        XCTAssertEqual(resolver.library("libc.so.6", neededBy: "usr/sbin/init", deps), "opt/c/libc.so.6")
        XCTAssertNil(resolver.library("libmissing.so.1", neededBy: "usr/sbin/init", deps))
    }
}
