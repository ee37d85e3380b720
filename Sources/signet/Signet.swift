import ArgumentParser

/// `signet`: sign image trees for IMA, enforce with kernel policy, attest nodes.
@main
struct Signet: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "signet",
        abstract: "Make a Linux fleet run only code it trusts: sign, enforce, attest.",
        discussion: """
            Signs image trees with IMA signatures (byte-compatible with evmctl), keeps a \
            provenance manifest, and appraises trees as the kernel would.

            Start with a key hierarchy:
              signet keys ca --out keys-dev
              signet keys issue --ca-key keys-dev/ca.key.pem --ca-cert keys-dev/ca.crt.pem --out keys-dev
              signet sign --key keys-dev/ima.key.pem --cert keys-dev/ima.crt.pem --manifest m.jsonl rootfs/
              signet verify --cert keys-dev/ima.crt.pem rootfs/
            """,
        version: version,
        subcommands: [Keys.self, Sign.self, Verify.self, Apply.self, ManifestCommand.self, KeyringCommand.self, PolicyCommand.self, Image.self, Agent.self, Attest.self, ReferenceCommand.self, VerifierCommand.self, Fleet.self])
}
