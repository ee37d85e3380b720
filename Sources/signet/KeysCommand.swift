#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and inspect the enterprise IMA key hierarchy.",
        discussion: """
            A CA certificate (enrolled in the kernel's trust: MOK or built-in, or loaded as-is \
            into the _ima keyring) issues IMA signing certificates. The signing certificate's \
            Subject Key Identifier is SHA-1 over its public key, so the kernel finds it by the \
            keyid in each signature. Private keys are written with mode 0600.
            """,
        subcommands: [CA.self, Issue.self, Show.self])
}

extension KeyAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { KeyAlgorithm.choices }
    public var defaultValueDescription: String {
        switch self {
        case .rsa(let bits): return "rsa\(bits)"
        case .ecdsa(let curve): return curve == .p256 ? "p256" : "p384"
        }
    }
}

/// Options for writing a new private key.
struct NewKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Key type: rsa2048, rsa3072, rsa4096, p256 or p384.", valueName: "type"))
    var algorithm: KeyAlgorithm = .rsa(bits: 3072)

    @Flag(help: "Encrypt the new private key (AES-256) with the passphrase from SIGNET_KEY_PASSPHRASE or --passphrase-file.")
    var encrypt = false

    @OptionGroup var passphrase: PassphraseOptions

    @Flag(help: "Overwrite existing files.")
    var force = false

    func newKeyPassphrase() throws -> String? {
        guard encrypt else { return nil }
        guard let p = try passphrase.passphrase(), !p.isEmpty else {
            throw UsageError("--encrypt needs a passphrase: set \(PassphraseOptions.environmentVariable) or give --passphrase-file")
        }
        return p
    }
}

/// Writes key and certificate files, refusing to clobber unless forced.
enum KeyFiles {
    static func write(key: PrivateKey?, keyPassphrase: String?, certificate: Certificate,
                      directory: String, name: String, force: Bool) throws -> [String] {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw UsageError("cannot create \(directory): \(errnoDescription(errno))")
        }
        let keyPath = "\(directory)/\(name).key.pem"
        let pemPath = "\(directory)/\(name).crt.pem"
        let derPath = "\(directory)/\(name).crt.der"
        var outputs = [pemPath, derPath]
        if key != nil { outputs.insert(keyPath, at: 0) }
        if !force {
            for p in outputs where access(p, F_OK) == 0 {
                throw UsageError("\(p) exists; refusing to overwrite it (use --force)")
            }
        }
        if let key {
            try FileBytes.writeAtomically(try key.pemEncoded(passphrase: keyPassphrase), to: keyPath, mode: 0o600)
        }
        try FileBytes.writeAtomically(certificate.pem, to: pemPath, mode: 0o644)
        try FileBytes.writeAtomically(certificate.der, to: derPath, mode: 0o644)
        return outputs
    }
}

extension Keys {
    struct CA: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a self-signed enterprise CA (keyCertSign).",
            discussion: "Writes DIR/NAME.key.pem (0600), DIR/NAME.crt.pem and DIR/NAME.crt.der.\n\nExample: signet keys ca --out keys-dev --subject 'CN=Example IMA CA,O=Example' --algorithm p384")

        @Option(help: ArgumentHelp("Directory for the files.", valueName: "dir")) var out: String
        @Option(help: "Base name of the files.") var name = "ca"
        @Option(help: "Subject, e.g. 'CN=Example IMA CA,O=Example'.") var subject = "CN=Signet Enterprise IMA CA"
        @Option(help: "Validity in days.") var days = 3650
        @OptionGroup var key: NewKeyOptions

        func run() throws {
            try reportingErrors {
                let passphrase = try key.newKeyPassphrase()
                let privateKey = try PrivateKey.generate(key.algorithm)
                let cert = try CertificateAuthority.makeRoot(
                    key: privateKey, profile: .init(subject: subject, validityDays: days))
                let files = try KeyFiles.write(key: privateKey, keyPassphrase: passphrase, certificate: cert,
                                               directory: out, name: name, force: key.force)
                Console.out("CA '\(cert.subject)' \(key.algorithm), keyid \(KeyID.hex(cert.imaKeyID))")
                for f in files { Console.out("  wrote \(f)") }
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue an IMA signing certificate (digitalSignature, codeSigning) from the CA.",
            discussion: """
                Generates a new key (or certifies --key) and writes DIR/NAME.key.pem (0600), \
                DIR/NAME.crt.pem and DIR/NAME.crt.der. An encrypted CA key takes its passphrase \
                from SIGNET_CA_PASSPHRASE or --ca-passphrase-file.

                Example: signet keys issue --ca-key keys-dev/ca.key.pem --ca-cert keys-dev/ca.crt.pem --out keys-dev --algorithm p256 --name ima-p256
                """)

        @Option(help: ArgumentHelp("The CA's private key (PEM).", valueName: "file")) var caKey: String
        @Option(help: ArgumentHelp("The CA's certificate.", valueName: "file")) var caCert: String
        @Option(help: ArgumentHelp("Passphrase file for an encrypted CA key.", valueName: "file")) var caPassphraseFile: String?
        @Option(help: ArgumentHelp("Certify this existing private key instead of generating one.", valueName: "file")) var key: String?
        @Option(help: ArgumentHelp("Directory for the files.", valueName: "dir")) var out: String
        @Option(help: "Base name of the files.") var name = "ima"
        @Option(help: "Subject of the signing certificate.") var subject = "CN=Signet IMA signing key"
        @Option(help: "Validity in days.") var days = 730
        @OptionGroup var newKey: NewKeyOptions

        func run() throws {
            try reportingErrors {
                let caPassphrase = try PassphraseOptions(passphraseFile: caPassphraseFile)
                    .passphrase(environment: "SIGNET_CA_PASSPHRASE")
                let caPrivate = try PrivateKey.load(path: caKey, passphrase: caPassphrase)
                let ca = try Certificate.load(path: caCert)
                let subjectKey: PrivateKey
                if let key {
                    subjectKey = try PrivateKey.load(path: key, passphrase: try newKey.passphrase.passphrase())
                } else {
                    subjectKey = try PrivateKey.generate(newKey.algorithm)
                }
                let cert = try CertificateAuthority.issueSigningCertificate(
                    for: subjectKey.publicKey, profile: .init(subject: subject, validityDays: days),
                    ca: ca, caKey: caPrivate)
                let files = try KeyFiles.write(key: key == nil ? subjectKey : nil,
                                               keyPassphrase: try newKey.newKeyPassphrase(), certificate: cert,
                                               directory: out, name: name, force: newKey.force)
                Console.out("IMA signing certificate '\(cert.subject)' \(try subjectKey.algorithm()), keyid \(KeyID.hex(cert.imaKeyID)), issued by '\(ca.subject)'")
                for f in files { Console.out("  wrote \(f)") }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what matters about certificates: subject, algorithm, keyid, validity, fingerprint.",
            discussion: """
                Examples:
                  signet keys show keys/ima.crt.pem
                  signet keys show /etc/keys/ima/*.der
                """)

        @Argument(help: ArgumentHelp("Certificate files (PEM, PEM bundle or DER).", valueName: "cert"))
        var certificates: [String]
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try reportingErrors {
                var objects = [String]()
                for path in certificates {
                    for cert in try Certificate.loadAll(path: path) {
                        let skid = cert.subjectKeyIdentifier.map { Hex.encode($0) }
                        let usage = cert.keyUsage.map { u -> String in
                            var parts = [String]()
                            if u.contains(.digitalSignature) { parts.append("digitalSignature") }
                            if u.contains(.keyCertSign) { parts.append("keyCertSign") }
                            return parts.isEmpty ? "other" : parts.joined(separator: ",")
                        } ?? "(none)"
                        let algorithm = cert.keyAlgorithm?.description ?? "unsupported"
                        let fingerprint = "sha256:" + Hex.encode(cert.fingerprintSHA256)
                        let now = Int(time(nil))
                        let validity = now < cert.notBefore ? "not yet valid" : now > cert.notAfter ? "EXPIRED" : "valid"
                        if json {
                            objects.append(JSON.object([
                                ("file", JSON.string(path)), ("subject", JSON.string(cert.subject)),
                                ("issuer", JSON.string(cert.issuer)), ("serial", JSON.string(cert.serialHex)),
                                ("algorithm", JSON.string(algorithm)), ("keyid", JSON.string(KeyID.hex(cert.imaKeyID))),
                                ("skid", skid.map(JSON.string) ?? "null"),
                                ("not_before", JSON.string(Certificate.format(cert.notBefore))),
                                ("not_after", JSON.string(Certificate.format(cert.notAfter))),
                                ("status", JSON.string(validity)), ("ca", cert.isCA ? "true" : "false"),
                                ("key_usage", JSON.string(usage)), ("fingerprint", JSON.string(fingerprint)),
                            ]))
                        } else {
                            Console.out("""
                                \(path):
                                  subject:     \(cert.subject)
                                  issuer:      \(cert.issuer)
                                  serial:      \(cert.serialHex)
                                  algorithm:   \(algorithm)
                                  keyid:       \(KeyID.hex(cert.imaKeyID))  (kernel: id:\(KeyID.hex(cert.imaKeyID)))
                                  skid:        \(skid ?? "(none)")\(skid != nil && !skid!.hasSuffix(KeyID.hex(cert.imaKeyID)) ? "  WARNING: SKID does not end in the keyid; the kernel will not find this key" : "")
                                  validity:    \(Certificate.format(cert.notBefore)) to \(Certificate.format(cert.notAfter)) (\(validity))
                                  CA:          \(cert.isCA ? "yes" : "no")
                                  key usage:   \(usage)
                                  fingerprint: \(fingerprint)
                                """)
                        }
                    }
                }
                if json { Console.out(JSON.array(objects)) }
            }
        }
    }
}

extension PassphraseOptions {
    init(passphraseFile: String?) {
        self.init()
        self.passphraseFile = passphraseFile
    }
}
