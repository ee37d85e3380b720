#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import TPM
import TPMDevice
import VerifierConnection
import Attestation

struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Node side of attestation: the TPM's keys and quotes.",
        discussion: """
            The TPM is reached through a TCTI: --tcti, else $SIGNET_TCTI, else device:/dev/tpmrm0. \
            Examples: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321, mssim:host=127.0.0.1,port=2321.
            """,
        subcommands: [Enroll.self, Quote.self, Run.self])
}

/// Which TPM.
struct TCTIOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The TPM to use (default: $SIGNET_TCTI, else device:/dev/tpmrm0).", valueName: "tcti"))
    var tcti: String?
}

extension TPMKeyType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

extension Agent {
    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (or load) the attestation key and print what the verifier needs.",
            discussion: """
                Creates an AK (restricted signing key, fixedTPM/fixedParent) under the TPM's \
                storage root key and saves it in DIR (ak.pub, ak.priv 0600, ak.name, ak.pem) so it \
                survives restarts; an AK already in DIR is loaded and checked instead. Writes the \
                endorsement key's public key (ek.pem) and, when the TPM holds one, its certificate \
                (ek.crt.der). Give ak.pem (and ek.pem) to the verifier.

                Example: signet agent enroll --tcti swtpm:host=127.0.0.1,port=2321 --out /var/lib/signet
                """)

        @OptionGroup var tpm: TCTIOptions
        @Option(help: ArgumentHelp("Directory for the key files.", valueName: "dir")) var out: String
        @Option(help: ArgumentHelp("rsa (RSA-2048) or ecc (P-256), for the AK and the EK.", valueName: "type"))
        var keyType: TPMKeyType = .rsa2048

        func run() throws {
            quietTSS()
            try reportingErrors {
                if mkdir(out, 0o700) != 0 && errno != EEXIST {
                    throw UsageError("cannot create \(out): \(errnoDescription(errno))")
                }
                let context = try TPMContext(tcti: tpm.tcti)
                let ak: AttestationKey
                let existing = access("\(out)/\(AttestationKey.publicFile)", F_OK) == 0
                if existing {
                    ak = try AttestationKey.load(from: out)
                } else {
                    ak = try context.createAttestationKey(keyType)
                    try ak.save(to: out)
                }
                let ek = try context.endorsementKey(keyType)
                try FileBytes.writeAtomically(try ek.publicKey().spkiPEM, to: "\(out)/ek.pem", mode: 0o644)
                if let cert = ek.certificate {
                    try FileBytes.writeAtomically(cert, to: "\(out)/ek.crt.der", mode: 0o644)
                }
                Console.out("\(existing ? "loaded" : "created") AK \(Hex.encode(ak.name)) (\(keyType)) in \(out)")
                Console.out("  ak.pem: \(out)/\(AttestationKey.pemFile)")
                Console.out("  ek.pem: \(out)/ek.pem\(ek.certificate != nil ? ", EK certificate: \(out)/ek.crt.der" : " (no EK certificate in the TPM)")")
            }
        }
    }
}

/// tpm2-tss logs expected conditions (an absent EK certificate index) as
/// ERROR lines on stderr; Signet reports failures itself. A TSS2_LOG set by
/// the user still wins.
func quietTSS() {
    setenv("TSS2_LOG", "all+none", 0)
}

extension Agent {
    struct Quote: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Quote the PCRs with the AK and write an evidence bundle for the verifier.",
            discussion: """
                Writes a signet-evidence JSON document (format in Sources/Attestation/README.md): \
                the TPM quote over the PCR selection (default sha256:0-10) with the verifier's \
                nonce, the PCR values, the AK public area, the IMA measurement log (whole, or from \
                --from-entry on, for incremental rounds), the firmware's TCG event log when the \
                node has one (for the verifier's boot judgement) and the node's kernel release and \
                boot id.

                Example: signet agent quote --ak /var/lib/signet --nonce 5f1c… --out evidence.json
                """)

        @OptionGroup var tpm: TCTIOptions
        @Option(help: ArgumentHelp("Directory with the AK files written by 'agent enroll'.", valueName: "dir")) var ak: String
        @Option(help: ArgumentHelp("The verifier's challenge, hex (1-64 bytes).", valueName: "hex")) var nonce: String
        @Option(help: ArgumentHelp("Where to write the evidence.", valueName: "file")) var out: String
        @OptionGroup var sources: EvidenceSources
        @Option(help: ArgumentHelp("Send the log from this entry on (the verifier has the ones before).", valueName: "n"))
        var fromEntry = 0
        @Option(help: ArgumentHelp("PCRs to quote, tpm2-tools syntax.", valueName: "banks")) var pcrs = "sha256:0-10"

        func run() throws {
            quietTSS()
            try reportingErrors {
                guard let nonceBytes = Hex.decode(nonce), (1...64).contains(nonceBytes.count) else {
                    throw UsageError("--nonce must be 1-64 bytes of hex, not '\(nonce)'")
                }
                let selection: PCRSelection
                do { selection = try PCRSelection(parsing: pcrs) } catch { throw UsageError("--pcrs '\(pcrs)': \(error)") }
                let key = try AttestationKey.load(from: ak)
                // Quote first, then read the logs (EvidenceSources.evidence says why). The TPM
                // connection is closed before the read, so a slow log never holds the TPM.
                let quote = try { () throws -> TPMQuote in
                    let context = try TPMContext(tcti: tpm.tcti)
                    return try context.quote(with: key, nonce: nonceBytes, selection: selection)
                }()
                let (evidence, start, sent) = try sources.evidence(nonce: nonceBytes, quote: quote, ak: key, bootID: NodeFacts.bootID()) {
                    try Self.position(ofEntry: fromEntry, in: $0, source: sources.log)
                }
                try FileBytes.writeAtomically(evidence.encoded(), to: out, mode: 0o644)
                let boot = evidence.bootEventLog.map { "; firmware event log \($0.count) bytes" } ?? "; no firmware event log"
                Console.out("quoted \(pcrs) with nonce \(nonce); \(sent) log bytes from entry \(start.entryIndex)\(boot); wrote \(out)")
            }
        }

        /// The byte offset of entry `n` (the log is parsed up to it; a log with fewer entries is an error).
        static func position(ofEntry n: Int, in bytes: [UInt8], source: String) throws -> LogPosition {
            guard n > 0 else { return .start }
            var parser = BinaryMeasurementLogParser()
            parser.append(bytes)
            while parser.position.entryIndex < n {
                guard try parser.next() != nil else {
                    throw UsageError("\(source) has only \(parser.position.entryIndex) entries; --from-entry \(n) is past its end")
                }
            }
            return parser.position
        }
    }
}
