import ArgumentParser
import IMAFormat
import Policy
import SignetCrypto

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Generate, lint, dry-run and load IMA policies.",
        subcommands: [Load.self])
}

extension PolicyCommand {
    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a policy to the kernel (securityfs), one rule per write.",
            discussion: """
                Rules are sent one per write so a rejection names the rule; the kernel then \
                discards the whole update, so a refused policy never stays half-loaded. Load \
                the certificates first (signet keyring load): an appraise policy without its \
                keys refuses every program. Kernels without CONFIG_IMA_WRITE_POLICY take one \
                policy per boot.

                Example: signet policy load /etc/ima/ima-policy
                """)

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("The kernel's policy file.", valueName: "path")) var securityfs = PolicyLoader.defaultPath

        func run() throws {
            try reportingErrors {
                let text = String(decoding: try FileBytes.read(file, limit: 1 << 20), as: UTF8.self)
                let count = try PolicyLoader(path: securityfs).load(text)
                Console.out("loaded \(count) rules from \(file) into \(securityfs)")
            }
        }
    }
}
