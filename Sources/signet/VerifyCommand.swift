import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Provenance
import Signing

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Appraise files as the kernel would, against trusted certificates.",
        discussion: """
            For each file: read security.ima, recompute the digest with the algorithm its \
            header names, find the certificate by keyid, verify. Reports ok, unsigned, \
            bad-signature, unknown-key, digest-only, malformed or unreadable per file, with \
            totals. Exit 0 only when every selected file is ok.

            With --evm, also checks each file's portable EVM signature (security.evm) over \
            its metadata as in the image (same --evm-* options as 'signet sign'): ok, \
            missing, bad-signature, metadata-changed, unknown-key, malformed or unreadable.

            Example: signet verify --cert ima.crt.pem --select code rootfs/
            Example: signet verify --cert ima.crt.pem --evm --evm-uid 0 --evm-gid 0 rootfs/
            """)

    @Option(name: .customLong("cert"), help: ArgumentHelp("Trusted certificate (repeatable; PEM bundles allowed).", valueName: "file"))
    var certs: [String]
    @Option(name: .customLong("allow-hash"), help: ArgumentHelp("Accept only signatures over these digest algorithms (repeatable), like appraise_algos.", valueName: "algorithm"))
    var allowedHashes: [HashAlgorithm] = []
    @Flag(help: "List every file, not only those that are not ok.") var all = false
    @OptionGroup var selection: SelectionOptions
    @OptionGroup(title: "EVM (metadata) signatures") var evm: EVMOptions
    @OptionGroup var output: RunOptions
    @Argument(help: ArgumentHelp("Files or directories to appraise.", valueName: "path")) var paths: [String]

    func validate() throws {
        if certs.isEmpty { throw ValidationError("give at least one trusted certificate with --cert") }
        if paths.isEmpty { throw ValidationError("give at least one file or directory") }
    }

    func run() throws {
        let started = Clock.now()
        let trust = try reportingErrors { try TrustStore(paths: certs) }
        let trap = SignalTrap()
        let walk = TreeWalker(selection: selection.selection).walk(paths.map(FilePath.init))
        let progress = ProgressCounter(totalFiles: walk.files.count, totalBytes: 0)
        let appraiser = Appraiser(trust: trust, selection: selection.select, jobs: output.jobs,
                                  allowedAlgorithms: allowedHashes.isEmpty ? nil : Set(allowedHashes))
        let bar = (Console.stderrIsTerminal && !output.json && !output.noProgress) ? ProgressBar(progress, label: "verifying") : nil
        let raw = appraiser.run(walk.files, interrupt: trap.flag, progress: progress)
        bar?.finish()
        let interrupted = trap.flag.isRaised
        let results = raw.compactMap { $0 }
        var totals = [Appraisal.Status: Int]()
        for r in results { totals[r.status, default: 0] += 1 }
        // --evm: the metadata signatures of the same files (security.evm).
        let evmResults = evm.options.map { o in
            EVMAppraiser(trust: trust, options: o, jobs: output.jobs,
                         allowedAlgorithms: allowedHashes.isEmpty ? nil : Set(allowedHashes))
                .run(results.map(\.file), interrupt: trap.flag).compactMap { $0 }
        } ?? []
        var evmTotals = [EVMAppraisal.Status: Int]()
        for r in evmResults { evmTotals[r.status, default: 0] += 1 }
        let failures = results.filter { $0.status != .ok }.count + walk.failures.count
            + evmResults.filter { $0.status != .ok }.count
        let seconds = Clock.now() - started

        if output.json {
            var files = [String]()
            for r in results where all || r.status != .ok {
                for path in r.file.paths {
                    var pairs = JSON.pathPairs(path) + [("status", JSON.string(r.status.rawValue)), ("detail", JSON.string(r.detail))]
                    if let k = r.keyID { pairs.append(("keyid", JSON.string(KeyID.hex(k)))) }
                    files.append(JSON.object(pairs))
                }
            }
            for f in walk.failures {
                files.append(JSON.object(JSON.pathPairs(f.path) + [("status", JSON.string("unreadable")), ("detail", JSON.string(f.reason))]))
            }
            let totalPairs = Appraisal.Status.allCases.map { ($0.rawValue, String(totals[$0] ?? 0)) }
            var evmPairs = [(String, String)]()
            if evm.evm {
                var evmFiles = [String]()
                for r in evmResults where all || r.status != .ok {
                    for path in r.file.paths {
                        var pairs = JSON.pathPairs(path) + [("status", JSON.string(r.status.rawValue)), ("detail", JSON.string(r.detail))]
                        if let k = r.keyID { pairs.append(("keyid", JSON.string(KeyID.hex(k)))) }
                        evmFiles.append(JSON.object(pairs))
                    }
                }
                evmPairs = [("evm_totals", JSON.object(EVMAppraisal.Status.allCases.map { ($0.rawValue, String(evmTotals[$0] ?? 0)) })),
                            ("evm_files", JSON.array(evmFiles))]
            }
            Console.out(JSON.object(evmPairs + [
                ("verdict", JSON.string(failures == 0 && !interrupted ? "pass" : "fail")),
                ("totals", JSON.object(totalPairs + [("walk_errors", String(walk.failures.count))])),
                ("seconds", String(seconds)), ("interrupted", interrupted ? "true" : "false"),
                ("files", JSON.array(files)),
            ]))
        } else {
            for r in results where all || r.status != .ok {
                for path in r.file.paths { Console.out("\(r.status.rawValue.padding(13)) \(path): \(r.detail)") }
            }
            for f in walk.failures { Console.out("\("unreadable".padding(13)) \(f.path): \(f.reason)") }
            for r in evmResults where all || r.status != .ok {
                for path in r.file.paths { Console.out("\(("evm:" + r.status.rawValue).padding(13)) \(path): \(r.detail)") }
            }
            for s in walk.skipped { Console.err("skipped \(s.path): \(s.reason.rawValue)") }
            let parts = Appraisal.Status.allCases.compactMap { s in totals[s].map { "\($0) \(s.rawValue)" } }
            let evmParts = EVMAppraisal.Status.allCases.compactMap { s in evmTotals[s].map { "\($0) \(s.rawValue)" } }
            Console.out("\(results.count) files: \(parts.isEmpty ? "none" : parts.joined(separator: ", "))"
                        + (evm.evm ? "; EVM: \(evmParts.isEmpty ? "none" : evmParts.joined(separator: ", "))" : "")
                        + (walk.failures.isEmpty ? "" : ", \(walk.failures.count) walk errors")
                        + (interrupted ? " (interrupted)" : "") + " — \(failures == 0 && !interrupted ? "PASS" : "FAIL")")
        }
        if interrupted { throw Exit.interrupted }
        if failures > 0 { throw Exit.someFailed }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
