#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import IMAFormat
import SignetCrypto
import TPM

struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Node side of attestation: the TPM's keys and quotes.",
        discussion: """
            The TPM is reached through a TCTI: --tcti, else $SIGNET_TCTI, else device:/dev/tpmrm0. \
            Examples: device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321, mssim:host=127.0.0.1,port=2321.
            """,
        subcommands: [Enroll.self])
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
