import ArgumentParser
// FoundationEssentials only (JSONEncoder): full Foundation would pull ICU into the static binary (+40 MB).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SignetCLI
import IMAFormat
import Keyring
import Policy

/// `signet posture`: reads the running system and says, item by item, whether
/// what makes IMA enforcement hold is in place.
struct Posture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posture",
        abstract: "Say whether the running kernel will enforce: each setting enforced, open or unknown, with a fix.",
        discussion: """
            Reads the kernel command line, securityfs, /sys/module, efivarfs, /proc/keys, \
            /boot/config-$(uname -r) and /etc/ima/ima-policy. What cannot be read is \
            'unknown', never 'enforced'. Items (stable ids):
              ima-appraise-mode   ima_appraise=log|fix|off lets every unsigned program run
                                  (ignored under Secure Boot)
              ima-policy-param    built-in policies from ima_policy=
              ima-template        ima_template= (the legacy 'ima' is a warning)
              lsm                 IMA/EVM among the active LSMs
              lockdown            none, integrity or confidentiality
              module-signatures   sig_enforce or lockdown, else the policy's MODULE_CHECK
              bdev-write-mounted  bdev_allow_write_mounted=0 (6.8+): raw writes under a
                                  mounted filesystem
              ima-policy          the loaded policy (or the configured one, when the
                                  kernel's copy cannot be read), and its lint findings as
                                  ima-policy/<lint id>
              keyrings            .ima/_ima and .evm/_evm and their keys
              evm                 EVM's state
              secure-boot         the SecureBoot EFI variable
            Exit code: 2 when an open or unknown item is an error, 1 when the worst is a \
            warning, 0 otherwise.

            --json prints one object: "items" (each with "id", "state", "severity", "message" \
            and "fix"), "worst" (error, warning, info or none) and "exit_code".

            Examples:
              signet posture
              signet posture --json --root /mnt/copy
            """)

    @Flag(help: "Print JSON.") var json = false
    @Option(help: ArgumentHelp("Read /proc, /sys, /boot and /etc under DIR instead of /: to inspect a copy.", valueName: "dir"))
    var root = "/"

    func run() throws {
        let report = PostureEvaluator.evaluate(postureSnapshot(root: root))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = try reportingErrors { try encoder.encode(report) }
            Console.out(String(decoding: data, as: UTF8.self))
        } else {
            for item in report.items {
                Console.out("\(padded(item.state.rawValue, 8)) \(padded(item.severity.rawValue, 7)) \(item.id): \(item.message)")
                if item.counts && !item.fix.isEmpty { Console.out("                 fix: \(item.fix)") }
            }
            let count = { (s: PostureState) in report.items.filter { $0.state == s }.count }
            Console.out("\(count(.enforced)) enforced, \(count(.open)) open, \(count(.unknown)) unknown; worst open or unknown: \(report.worst)")
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// `text` followed by spaces up to `width` characters.
    private func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}

/// Reads the system under `root`; on the real root also reads the IMA and EVM
/// keyrings through libkeyutils for their keys' descriptions (a fake tree has
/// only its /proc/keys).
func postureSnapshot(root: String) -> PostureSnapshot {
    let reader = PostureReader(root: root)
    var snapshot = reader.read()
    guard reader.root.isEmpty, let text = snapshot.procKeys.value else { return snapshot }
    for key in ProcKey.parse(text) where key.type == "keyring" && [".ima", "_ima", ".evm", "_evm"].contains(key.name) {
        do {
            let ring = try KernelKeyring.find(name: key.name) ?? KernelKeyring.userKeyring(named: key.name, create: false)
            snapshot.keyringContents[key.name] = .value(try ring.entries().map { e in
                "\(e.type) '\(e.description)'" + (e.imaKeyID.map { " keyid \(KeyID.hex($0))" } ?? "")
            })
        } catch {
            snapshot.keyringContents[key.name] = .unreadable("\(error)")
        }
    }
    return snapshot
}
