import ArgumentParser
import SignetCLI
import IMAFormat
import Keyring
import SignetCrypto

struct KeyringCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyring",
        abstract: "Load enterprise certificates into the kernel keyring IMA/EVM verify with.",
        discussion: """
            The IMA keyring is '.ima' when the kernel has a trusted integrity keyring (it then \
            takes only certificates signed by a trusted CA), else '_ima' under the user keyring, \
            created here if missing (Debian 12 kernels). Load certificates before the policy. \
            A systemd service does not possess root's user keyring and may not read '_ima' \
            ("Permission denied"): give its unit KeyringMode=shared, or run from a login session.
            """,
        subcommands: [Load.self, List.self])

    /// Which keyring.
    struct Target: ParsableArguments {
        @Option(help: ArgumentHelp("'ima' (.ima or _ima), 'evm' (.evm or _evm), or the name of a keyring under the user keyring.", valueName: "ring"))
        var keyring = "ima"

        func resolve(create: Bool) throws -> KernelKeyring {
            switch keyring {
            case "ima": return try KernelKeyring.ima(create: create)
            case "evm": return try KernelKeyring.evm(create: create)
            default:
                if keyring.hasPrefix("."), let found = KernelKeyring.find(name: keyring) { return found }
                return try KernelKeyring.userKeyring(named: keyring, create: create)
            }
        }
    }

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add IMA signing certificates (DER or PEM) to the keyring.",
            discussion: "Example: signet keyring load /etc/keys/ima/*.der")

        @OptionGroup var target: Target
        @Argument(help: ArgumentHelp("Certificate files.", valueName: "cert")) var certificates: [String]

        func validate() throws {
            if certificates.isEmpty { throw ValidationError("give at least one certificate file") }
        }

        func run() throws {
            try reportingErrors {
                // Parse all first: a bad file stops the run before anything is loaded.
                let certs = try certificates.flatMap { try Certificate.loadAll(path: $0) }
                let ring = try target.resolve(create: true)
                for cert in certs {
                    let serial = try ring.add(cert)
                    Console.out("loaded \(cert.source): '\(cert.subject)' keyid \(KeyID.hex(cert.imaKeyID)) as key \(serial) in \(ring.name)")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the keys in the keyring with their IMA keyids.",
            discussion: """
                Inside a systemd service the _ima keyring is readable only with KeyringMode=shared.

                Examples:
                  signet keyring list
                  signet keyring list --keyring evm
                """)
        @OptionGroup var target: Target

        func run() throws {
            try reportingErrors {
                let ring = try target.resolve(create: false)
                let entries = try ring.entries()
                Console.out("keyring \(ring.name) (\(ring.serial)): \(entries.count) key(s)")
                for e in entries {
                    Console.out("  \(e.serial) \(e.type) keyid \(e.imaKeyID.map(KeyID.hex) ?? "-") \(e.description)")
                }
            }
        }
    }
}
