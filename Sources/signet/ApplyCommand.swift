import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Provenance
import Signing

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set the signatures of a detached manifest onto a tree.",
        discussion: """
            For each manifest entry, ROOT/PATH is hashed and must match the manifest's \
            digest before its security.ima is set, so a signature never lands on other \
            content. With --cert, the manifest's own signature (MANIFEST.sig) and every \
            entry's signature are checked first.

            Example: signet apply --cert ima.crt.pem m.jsonl /mnt/image
            """)

    @Argument(help: ArgumentHelp("The manifest written by 'signet sign --detached --manifest'.", valueName: "manifest"))
    var manifest: String
    @Argument(help: ArgumentHelp("The tree the manifest's paths are relative to.", valueName: "root"))
    var root: String
    @Option(name: .customLong("cert"), help: ArgumentHelp("Trusted certificate: verify the manifest and its signatures first (repeatable).", valueName: "file"))
    var certs: [String] = []
    @Option(help: ArgumentHelp("The manifest's signature (default: MANIFEST.sig).", valueName: "file"))
    var signature: String?
    @Flag(help: "Check everything, change nothing.") var dryRun = false
    @OptionGroup var output: RunOptions

    func run() throws {
        let (parsed, trust): (Manifest, TrustStore?) = try reportingErrors {
            let bytes = try FileBytes.read(manifest, limit: 1 << 30)
            if certs.isEmpty { return (try Manifest(parsing: bytes, source: manifest), nil) }
            let store = try TrustStore(paths: certs)
            let sig = try FileBytes.read(signature ?? manifest + ".sig")
            _ = try ManifestSignature.verify(bytes, signature: sig, trusted: store.certificates, source: manifest)
            return (try Manifest(parsing: bytes, source: manifest), store)
        }
        let trap = SignalTrap()
        let applier = ManifestApplier(manifest: parsed, jobs: output.jobs, dryRun: dryRun, trust: trust)
        let results = applier.apply(root: FilePath(root), interrupt: trap.flag)
        var applied = 0, unchanged = 0, failed = 0
        var lines = [String]()
        for case let (entry, outcome)? in results {
            switch outcome {
            case .applied: applied += 1
            case .unchanged: unchanged += 1
            case .contentMismatch(let why):
                failed += 1
                lines.append(output.json ? JSON.object(JSON.pathPairs(entry.path) + [("error", JSON.string("content-mismatch")), ("message", JSON.string(why))])
                                         : "FAILED \(entry.path): \(why)")
            case .failed(let p):
                failed += 1
                lines.append(output.json ? JSON.object(JSON.pathPairs(entry.path) + [("error", JSON.string(p.code)), ("message", JSON.string(p.description))])
                                         : "FAILED \(entry.path): \(p)")
            }
        }
        let interrupted = trap.flag.isRaised
        if output.json {
            Console.out(JSON.object([("applied", String(applied)), ("unchanged", String(unchanged)), ("failed", String(failed)),
                                     ("interrupted", interrupted ? "true" : "false"), ("errors", JSON.array(lines))]))
        } else {
            for l in lines { Console.err(l) }
            Console.out("\(dryRun ? "would apply" : "applied") \(applied), unchanged \(unchanged), failed \(failed) of \(parsed.entries.count) entries" + (interrupted ? " (interrupted; run again to finish)" : ""))
        }
        if interrupted { throw Exit.interrupted }
        if failed > 0 { throw Exit.someFailed }
    }
}
