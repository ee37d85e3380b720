import ArgumentParser
import SignetCLI

/// `signet-verifier`: the verifier service and the fleet CLI (the server side of Signet;
/// nodes run `signet`).
@main
struct SignetVerifier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signet-verifier",
        abstract: "Signet's verifier service and fleet CLI: attest a fleet of nodes continuously.",
        discussion: """
            The server side of Signet (package signet-verifier). Nodes run 'signet agent run' \
            (package signet) and push TPM quotes and their IMA log here; the verifier judges each \
            round against the group's reference (certificates, signed manifests, Keylime policies) \
            and keeps the fleet's state in SQLite or PostgreSQL.

            Start a verifier, upload a reference, watch the fleet:
              signet-verifier serve --database /var/lib/signet/verifier.db \\
                --admin-token-file admin.token --listen 0.0.0.0:8443 \\
                --tls-cert verifier.crt.pem --tls-key verifier.key.pem
              signet-verifier fleet upload-reference --verifier https://verifier:8443 \\
                --ca ca.pem --admin-token-file admin.token \\
                --cert ima.crt.pem --manifest m.jsonl
              signet-verifier fleet status --verifier https://verifier:8443 --ca ca.pem \\
                --admin-token-file admin.token

            'signet verifier ...' and 'signet fleet ...' on a machine with both packages run this program.
            """,
        version: signetVersion,
        subcommands: [VerifierCommand.Serve.self, Fleet.self, VerifierCommand.self])
}
