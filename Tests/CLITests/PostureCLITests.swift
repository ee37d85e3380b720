import XCTest
import Foundation
import SignetTestSupport

/// `signet posture --root` and `signet policy load --root` against fake
/// /proc, /sys, /boot and /etc trees: the JSON an e2e test parses, and a load
/// that refuses to report success when the kernel only logs appraisal.
final class PostureCLITests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-posture-cli") }

    func run(_ args: [String]) throws -> ProcessResult { try runProgram(signetBinary, args) }

    /// A Debian 12 / 6.12 tree with `cmdline`; the policy file a directory (write-only: see PostureTests).
    func fakeRoot(cmdline: String, secureBoot: UInt8? = nil) -> String {
        dir.write("root/proc/cmdline", cmdline + "\n")
        dir.write("root/proc/sys/kernel/osrelease", "6.12.12-amd64\n")
        dir.write("root/proc/self/uid_map", "         0          0 4294967295\n")
        dir.write("root/proc/keys", "2a6c1f0e I--Q---     1 perm 3f010000     0     0 keyring   _ima: 1\n")
        dir.write("root/boot/config-6.12.12-amd64", "CONFIG_IMA=y\nCONFIG_IMA_APPRAISE=y\nCONFIG_IMA_APPRAISE_BOOTPARAM=y\nCONFIG_BLK_DEV_WRITE_MOUNTED=y\nCONFIG_MODULES=y\n")
        dir.write("root/sys/kernel/security/lsm", "lockdown,capability,yama,apparmor,ima,evm")
        dir.write("root/sys/kernel/security/lockdown", "[none] integrity confidentiality\n")
        dir.write("root/sys/kernel/security/evm", "0")
        dir.write("root/sys/kernel/security/ima/ascii_runtime_measurements", "")
        dir.mkdir("root/sys/kernel/security/ima/policy")
        dir.write("root/sys/module/module/parameters/sig_enforce", "Y\n")
        if let secureBoot {
            dir.write("root/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", [6, 0, 0, 0, secureBoot])
        }
        return dir.url("root")
    }

    func testPostureJSONOnAFakeTree() throws {
        let root = fakeRoot(cmdline: "root=/dev/vda1 ro ima_appraise=log lockdown=none")
        let r = try run(["posture", "--root", root, "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.output)
        XCTAssertEqual(Set(report.keys), ["items", "worst", "exit_code"])
        XCTAssertEqual(report["exit_code"] as? Int, 2)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(report["worst"] as? String, "error")
        let items = try XCTUnwrap(report["items"] as? [[String: Any]])
        var state = [String: String]()
        for item in items {
            XCTAssertEqual(Set(item.keys), ["id", "state", "severity", "message", "fix"], "\(item)")
            state[item["id"] as! String] = item["state"] as? String
        }
        XCTAssertEqual(state["ima-appraise-mode"], "open")
        XCTAssertEqual(state["ima-policy"], "open")
        XCTAssertEqual(state["bdev-write-mounted"], "open")
        XCTAssertEqual(state["lockdown"], "open")
        XCTAssertEqual(state["module-signatures"], "enforced")
        XCTAssertEqual(state["keyrings"], "enforced")
        XCTAssertEqual(state["secure-boot"], "unknown")
        let appraise = try XCTUnwrap(items.first { $0["id"] as? String == "ima-appraise-mode" })
        XCTAssertTrue((appraise["message"] as? String ?? "").contains("ima_appraise=log"), "\(appraise)")

        // Text output: one line per item, a summary, the same exit code.
        let text = try run(["posture", "--root", root])
        XCTAssertEqual(text.status, 2)
        XCTAssertTrue(text.stdout.contains("open     error   ima-appraise-mode: ima_appraise=log"), text.stdout)
        XCTAssertTrue(text.stdout.contains("worst open or unknown: error"), text.stdout)
    }

    func testPostureWithSecureBootAndAFixedCommandLine() throws {
        let root = fakeRoot(cmdline: "root=/dev/vda1 ro ima_appraise=log lockdown=integrity bdev_allow_write_mounted=0", secureBoot: 1)
        dir.write("root/sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        let r = try run(["posture", "--root", root, "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.output)
        let items = try XCTUnwrap(report["items"] as? [[String: Any]])
        let state = Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, $0["state"] as! String) })
        XCTAssertEqual(state["ima-appraise-mode"], "enforced", "Secure Boot: the kernel ignores ima_appraise=")
        XCTAssertEqual(state["secure-boot"], "enforced")
        XCTAssertEqual(state["bdev-write-mounted"], "enforced")
        XCTAssertEqual(state["lockdown"], "enforced")
        // The policy is still not loaded: that alone is an error.
        XCTAssertEqual(state["ima-policy"], "open")
        XCTAssertEqual(r.status, 2)
    }

    func testPolicyLoadRefusesToReportSuccessUnderImaAppraiseLog() throws {
        let policy = dir.url("p.policy")
        XCTAssertEqual(try run(["policy", "generate", "--profile", "exec-signed", "-o", policy]).status, 0)
        let target = dir.write("securityfs-policy", "")
        let logging = fakeRoot(cmdline: "root=/dev/vda1 ro ima_appraise=log")
        let r = try run(["policy", "load", "--root", logging, "--securityfs", target, policy])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stderr.contains("but the kernel will not enforce them: ima_appraise=log on the kernel command line (/proc/cmdline)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("every unsigned program still runs"), r.stderr)
        XCTAssertTrue(r.stderr.contains("remove ima_appraise=log"), r.stderr)
        // Written all the same (documented): measurement and the audit log still work.
        let written = String(decoding: try Data(contentsOf: URL(fileURLWithPath: target)), as: UTF8.self)
        XCTAssertTrue(written.contains("appraise func=BPRM_CHECK appraise_type=imasig\n"), written)

        // A clean command line: success.
        dir.write("root/proc/cmdline", "root=/dev/vda1 ro quiet\n")
        let clean = try run(["policy", "load", "--root", logging, "--securityfs", dir.write("securityfs-policy2", ""), policy])
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertTrue(clean.stdout.hasPrefix("loaded "), clean.stdout)
        XCTAssertEqual(clean.stderr, "")

        // A measurement-only policy is not held back by ima_appraise=log.
        dir.write("root/proc/cmdline", "root=/dev/vda1 ima_appraise=log\n")
        let measure = dir.write("m.policy", "measure func=BPRM_CHECK\n")
        let m = try run(["policy", "load", "--root", logging, "--securityfs", dir.write("securityfs-policy3", ""), measure])
        XCTAssertEqual(m.status, 0, m.output)

        // A command line that cannot be read: a warning, not success claimed silently.
        let unknown = dir.url("unknown-root")
        dir.mkdir("unknown-root/proc")
        let u = try run(["policy", "load", "--root", unknown, "--securityfs", dir.write("securityfs-policy4", ""), policy])
        XCTAssertEqual(u.status, 0, u.output)
        XCTAssertTrue(u.stderr.contains("cannot tell whether the kernel enforces them"), u.stderr)
    }
}
