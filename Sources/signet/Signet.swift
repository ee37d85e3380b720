import ArgumentParser
import SignetCLI

/// `signet`: sign image trees for IMA, enforce with kernel policy, attest nodes (the node and
/// image-builder side; the verifier service is `signet-verifier`).
///
/// Synchronous on purpose: every subcommand runs on the main thread, so the kernel's audit lines
/// (a policy load, a key added) name the program (`comm="signet"`), not a runtime worker thread.
@main
struct Signet: ParsableCommand {
    static let version = signetVersion

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

            This is the node and image-builder program (package signet): it links no database \
            or server code. The verifier service and the fleet CLI are 'signet-verifier' \
            (package signet-verifier); 'signet verifier ...' and 'signet fleet ...' run it.
            """,
        version: version,
        subcommands: [Keys.self, Sign.self, Verify.self, Apply.self, ManifestCommand.self, BundleCommand.self, KeyringCommand.self, PolicyCommand.self, Posture.self, Image.self, Agent.self, Attest.self, ReferenceCommand.self, BootReferenceCommand.self, VerifierCommand.self, Fleet.self])
}
