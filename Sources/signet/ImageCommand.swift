#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Signing

struct Image: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare an image tree for enforcement in one step.",
        subcommands: [Prepare.self])
}

extension Image {
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install policy and certificates into a root filesystem, then sign it and write the manifest.",
            discussion: """
                Installs the policy at ROOTFS/etc/ima/ima-policy and the certificates (the \
                signing certificate and every --trust one, DER) at ROOTFS/etc/keys/ima/, then \
                signs the whole tree as 'signet sign' does (the installed files included) and \
                writes the manifest. Early boot then runs:
                  signet keyring load /etc/keys/ima/*.der && signet policy load /etc/ima/ima-policy

                Example: signet image prepare --key ima.key.pem --cert ima.crt.pem --policy exec-signed.policy --manifest m.jsonl rootfs/
                """)

        @Argument(help: ArgumentHelp("The root filesystem tree.", valueName: "rootfs")) var rootfs: String
        @OptionGroup var signing: SigningKeyOptions
        @Option(name: .customLong("trust"), help: ArgumentHelp("More certificates for the image's keyring (repeatable), e.g. a rotation's next key.", valueName: "file"))
        var trusted: [String] = []
        @Option(help: ArgumentHelp("The IMA policy file to install.", valueName: "file")) var policy: String
        @Option(help: ArgumentHelp("Write the provenance manifest here.", valueName: "file")) var manifest: String?
        @Option(help: "Build identifier for the manifest header.") var buildID: String?
        @OptionGroup var selection: SelectionOptions
        @OptionGroup var output: RunOptions

        func run() throws {
            let pipeline = try signing.makePipeline(jobs: output.jobs, selection: selection.select)
            try reportingErrors {
                let extra = try trusted.flatMap { try Certificate.loadAll(path: $0) }
                // A policy that does not parse would stop the image from booting: refuse it here.
                _ = try readPolicy(policy)
                let policyBytes = try FileBytes.read(policy, limit: 1 << 20)
                try install(policy: policyBytes, certificates: [pipeline.certificate] + extra)
            }
            try SignJob(pipeline: pipeline, selection: selection.selection, output: output,
                        manifest: manifest, buildID: buildID).run(paths: [rootfs])
        }

        private func install(policy: [UInt8], certificates: [Certificate]) throws {
            try makeDirectories("\(rootfs)/etc/ima")
            try makeDirectories("\(rootfs)/etc/keys/ima")
            try FileBytes.writeAtomically(policy, to: "\(rootfs)/etc/ima/ima-policy", mode: 0o644)
            for c in certificates {
                try FileBytes.writeAtomically(c.der, to: "\(rootfs)/etc/keys/ima/ima-\(KeyID.hex(c.imaKeyID)).der", mode: 0o644)
            }
            if !output.json {
                Console.err("installed /etc/ima/ima-policy and \(certificates.count) certificate(s) in /etc/keys/ima/")
            }
        }

        private func makeDirectories(_ path: String) throws {
            var prefix = path.hasPrefix("/") ? "/" : ""
            for part in path.split(separator: "/") {
                prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + part
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                    throw UsageError("cannot create \(prefix): \(errnoDescription(errno))")
                }
            }
        }
    }
}
