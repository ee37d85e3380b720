import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Provenance
import Signing

struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "Check and read provenance manifests.",
        subcommands: [VerifyManifest.self, ShowManifest.self])
}

extension ManifestCommand {
    struct VerifyManifest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a manifest's signature and every entry.",
            discussion: """
                Verifies MANIFEST.sig with the trusted certificate the header names, then \
                parses every line (fields, digests, order, duplicates) and checks each \
                entry's signature over its digest. Exit 0 only when all holds.

                The signature is also checkable without Signet:
                  openssl dgst -sha256 -verify <(openssl x509 -in ima.crt.pem -pubkey -noout) -signature m.jsonl.sig m.jsonl
                """)

        @Argument(help: ArgumentHelp("The manifest.", valueName: "manifest")) var manifest: String
        @Option(name: .customLong("cert"), help: ArgumentHelp("Trusted certificate (repeatable).", valueName: "file")) var certs: [String]
        @Option(help: ArgumentHelp("The signature (default: MANIFEST.sig).", valueName: "file")) var signature: String?

        func validate() throws {
            if certs.isEmpty { throw ValidationError("give the trusted certificate with --cert") }
        }

        func run() throws {
            try reportingErrors {
                let bytes = try FileBytes.read(manifest, limit: 1 << 30)
                let store = try TrustStore(paths: certs)
                let sig = try FileBytes.read(signature ?? manifest + ".sig")
                let signer = try ManifestSignature.verify(bytes, signature: sig, trusted: store.certificates, source: manifest)
                let parsed = try Manifest(parsing: bytes, source: manifest)
                var bad = 0
                for (i, e) in parsed.entries.enumerated() {
                    guard case .signature(let s)? = try? IMAXattr(bytes: e.imaXattr),
                          s.hashAlgorithm == e.digestAlgorithm, s.keyID == e.keyID,
                          store.verifier(of: s, digest: e.digest) != nil else {
                        Console.err("\(manifest):\(i + 2): signature for \(e.path) does not verify over its digest")
                        bad += 1
                        continue
                    }
                }
                if bad > 0 {
                    throw UsageError("\(bad) of \(parsed.entries.count) entries have signatures that do not verify")
                }
                Console.out("manifest OK: \(parsed.entries.count) entries, build \(parsed.header.buildID), signed by '\(signer.subject)' (keyid \(KeyID.hex(signer.imaKeyID)))")
            }
        }
    }

    struct ShowManifest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Print a manifest's header and entries as a table.",
            discussion: "Example: signet manifest show build-42.jsonl")

        @Argument(help: ArgumentHelp("The manifest.", valueName: "manifest")) var manifest: String

        func run() throws {
            try reportingErrors {
                let parsed = try Manifest(parsing: try FileBytes.read(manifest, limit: 1 << 30), source: manifest)
                let h = parsed.header
                Console.out("build \(h.buildID), created \(h.created) by \(h.tool), \(h.hashAlgorithm), signer '\(h.signer.subject)' keyid \(h.signer.keyid)\(h.detached ? ", detached" : "")")
                for e in parsed.entries {
                    Console.out("\(String(e.mode, radix: 8).leftPad(6)) \(e.uid):\(e.gid) \(String(e.size).padding(10)) \(e.digestString) \(e.path)")
                }
            }
        }
    }
}
