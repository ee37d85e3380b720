#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import TPM

struct Attest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verifier side: check a node's evidence against the enterprise's keys and manifests.",
        subcommands: [VerifyEvidence.self, CheckLog.self])
}

extension Attest {
    struct VerifyEvidence: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify an evidence bundle: quote, PCRs, log replay, boot_aggregate, then every entry.",
            discussion: """
                Checks in order: the quote's signature with the enrolled AK; magic and type; the \
                nonce; the PCR digest against the supplied values; with --boot-reference, the \
                measured boot (the evidence's firmware event log replays to the quoted PCRs 0-9, \
                then Secure Boot, the boot chain, the initrd and the kernel command line are held \
                against the reference; a failure names the event, PCR, what was measured and what \
                was expected, and the IMA log is then not judged); the log replays to the quoted \
                PCR 10 (entries after the match are left for the next round); boot_aggregate \
                against PCRs 0-9; then each entry: signed by a trusted certificate, listed in a \
                manifest at its path, or excluded. With --state, a previous round's state is read \
                (clock and reboot checks) and the new one written after a pass; in the same boot \
                only the entries after the last verified one are judged, whether the evidence \
                holds the whole log again or only the new entries ('agent quote --from-entry N', \
                N = the state's nextEntry). After a reboot the log is judged from entry 0. \
                Exit 0 only on pass.

                Examples:
                  signet attest verify evidence.json --nonce 5f1c… --ak ak.pem --cert ima.crt.pem --manifest m.jsonl
                  signet attest verify evidence.json --nonce 5f1c… --ak ak.pem --cert ima.crt.pem --manifest m.jsonl --boot-reference boot-reference.json
                """)

        @Argument(help: ArgumentHelp("The evidence bundle (signet-evidence JSON).", valueName: "evidence")) var evidence: String
        @Option(help: ArgumentHelp("The nonce this round challenged the node with (hex).", valueName: "hex")) var nonce: String
        @Option(help: ArgumentHelp("The node's enrolled AK: ak.pem (the evidence must then carry the AK's TPM2B_PUBLIC for that key), or ak.pub (TPM2B_PUBLIC).", valueName: "file")) var ak: String
        @Option(help: ArgumentHelp("PCRs the quote must cover.", valueName: "banks")) var pcrs = "sha256:0-10"
        @Option(help: ArgumentHelp("State file of this node (bound to its AK): read if present, written after a pass.", valueName: "file")) var state: String?
        @OptionGroup var reference: ReferenceOptions
        @Flag(help: "Print the verdict as JSON.") var json = false
        @Option(help: ArgumentHelp("Decode and verify the evidence this many times in one process, sharing the verified-signature cache, and print each round's rate (what the verifier service does per request; the reference is loaded once).", valueName: "n"))
        var rounds = 1
        @Flag(help: "Verify every signature every time (no verified-signature cache).") var noSignatureCache = false

        func run() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            let (evidenceBytes, parsed, expectations, previous, verifier): ([UInt8], Evidence, AttestationExpectations, AttestationState?, AttestationVerifier) = try reportingErrors {
                guard let nonceBytes = Hex.decode(nonce), !nonceBytes.isEmpty else { throw UsageError("--nonce must be hex, not '\(nonce)'") }
                let akBytes = try FileBytes.read(ak)
                let akExpectation: AttestationExpectations.AttestationKey
                if String(decoding: akBytes.prefix(64), as: UTF8.self).contains("-----BEGIN") {
                    akExpectation = .publicKey(try PublicKey.decode(pem: akBytes, source: ak))
                } else {
                    akExpectation = .publicArea(try TPMPublic(tpm2bPublic: akBytes))
                }
                let selection: PCRSelection
                do { selection = try PCRSelection(parsing: pcrs) } catch { throw UsageError("--pcrs '\(pcrs)': \(error)") }
                let evidenceBytes = try FileBytes.read(evidence, limit: 256 << 20)
                let parsed: Evidence
                do { parsed = try Evidence.decode(evidenceBytes) } catch { throw UsageError("\(evidence): \(error)") }
                var previous: AttestationState?
                if let state, let bytes = try? FileBytes.read(state) {
                    do { previous = try AttestationState.decode(bytes) } catch {
                        throw UsageError("\(state): not a Signet attestation state: \(error)")
                    }
                }
                let ref = try reference.load()
                let cache = noSignatureCache ? SignatureCache(capacity: 0) : SignatureCache()
                return (evidenceBytes, parsed,
                        AttestationExpectations(nonce: nonceBytes, attestationKey: akExpectation, requiredSelection: selection),
                        previous, AttestationVerifier(reference: ref, cache: cache, jobs: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
            }
            var result = verifier.verify(parsed, expecting: expectations, previous: previous)
            if rounds > 1 {
                // Round 1 above; each later round decodes the evidence again, as the service does per request.
                for round in 2...rounds {
                    let start = CheckLog.now()
                    guard let again = try? Evidence.decode(evidenceBytes) else { throw Exit.someFailed }
                    result = verifier.verify(again, expecting: expectations, previous: previous)
                    let seconds = max(CheckLog.now() - start, 1e-9)
                    let entries = result.verdict.log?.judgedEntries ?? 0
                    Console.out("round \(round) \(result.verdict.passed ? "pass" : "FAIL"): \(entries) entries decoded and verified in "
                                + "\(fixed(seconds, 3))s (\(fixed(Double(entries) / seconds, 0)) entries/s)")
                }
            }
            if json {
                Console.write(1, String(decoding: result.verdict.jsonReport(), as: UTF8.self) + "\n")
            } else {
                Console.write(1, result.verdict.textReport())
            }
            if result.verdict.passed, let state, let newState = result.state {
                try reportingErrors {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    try FileBytes.writeAtomically(Array(try encoder.encode(newState)), to: state, mode: 0o600)
                }
            }
            if !result.verdict.passed { throw Exit.someFailed }
        }
    }
}

struct ReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Convert reference values to and from Keylime runtime policies.",
        subcommands: [ExportKeylime.self, ImportKeylime.self])
}

extension ReferenceCommand {
    struct ExportKeylime: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-keylime",
            abstract: "Write a Keylime runtime policy from signed manifests and certificates.",
            discussion: """
                The certificates are listed under the keyrings the kernel logs their loading in: \
                .ima (kernels with a trusted integrity keyring) and _ima (made from userspace, as \
                on Debian's kernels), or the ones given with --keyring. Keylime accepts the log's \
                boot_aggregate entry only with its value in the policy: give the values a node's \
                PCRs 0-9 produce with --boot-aggregate (the entry's digest in \
                ascii_runtime_measurements, or 'signet attest verify' output).

                Examples:
                  signet reference export-keylime --manifest m.jsonl --cert ima.crt.pem -o runtime-policy.json
                  signet reference export-keylime --manifest m.jsonl --cert ima.crt.pem --keyring _ima --boot-aggregate sha256:4f1c… -o policy.json
                """)
        @OptionGroup var reference: ReferenceOptions
        @Option(help: ArgumentHelp("Keyring the certificates' loading is logged in (repeatable; default: .ima and _ima).", valueName: "name"))
        var keyring: [String] = []
        @Option(help: ArgumentHelp("A boot_aggregate value the nodes' logs may show, hex, optionally prefixed sha1: or sha256: (repeatable).", valueName: "hex"))
        var bootAggregate: [String] = []
        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Output file (default: stdout).", valueName: "file")) var output: String?

        func run() throws {
            try reportingErrors {
                guard reference.bootReferences.isEmpty else {
                    throw UsageError("--boot-reference: a Keylime runtime policy has no measured-boot part (Keylime keeps that in its own mb_policy); export without it")
                }
                var ref = try reference.load()
                for name in keyring {
                    guard !name.isEmpty, name.utf8.count <= 64, !name.contains(where: { $0.isWhitespace }) else {
                        throw UsageError("--keyring '\(name)' is not a keyring name (like .ima or _ima)")
                    }
                }
                if !keyring.isEmpty { ref.keyrings.allowed = Set(keyring) }
                for value in bootAggregate {
                    let hex = value.split(separator: ":", maxSplits: 1).last.map(String.init) ?? value
                    guard let bytes = Hex.decode(hex.lowercased()), [20, 32, 48, 64].contains(bytes.count) else {
                        throw UsageError("--boot-aggregate '\(value)' is not a SHA-1/256/384/512 digest in hex")
                    }
                    ref.bootAggregates.insert(bytes)
                }
                let export = KeylimeRuntimePolicy.export(ref, timestamp: Manifest.timestamp(Int(time(nil))))
                for w in export.warnings { Console.warning(w) }
                let bytes = export.policy.encoded()
                if let output { try FileBytes.writeAtomically(bytes, to: output, mode: 0o644) } else { Console.write(1, String(decoding: bytes, as: UTF8.self) + "\n") }
            }
        }
    }

    struct ImportKeylime: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-keylime",
            abstract: "Check a Keylime runtime policy and summarize what it allows (use it with 'attest verify --keylime-policy').",
            discussion: "Example: signet reference import-keylime runtime-policy.json")
        @Argument(help: ArgumentHelp("The Keylime runtime policy (JSON).", valueName: "file")) var policy: String

        func run() throws {
            try reportingErrors {
                let parsed = try KeylimeRuntimePolicy(parsing: try FileBytes.read(policy, limit: 1 << 30))
                let ref = try parsed.reference()
                Console.out("\(policy): Keylime runtime policy v\(parsed.version): \(ref.digests.byPath.count) paths, \(ref.digests.count) digests, \(ref.excludes.count) excludes, \(ref.verificationKeys.count) verification keys")
            }
        }
    }
}
