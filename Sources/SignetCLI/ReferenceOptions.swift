import ArgumentParser
import Attestation
import SignetCrypto

/// What a node is judged against, from the command line.
package struct ReferenceOptions: ParsableArguments {
    package init() {}

    @Option(name: .customLong("cert"), help: ArgumentHelp("Trusted IMA signing certificate (repeatable).", valueName: "file"))
    package var certs: [String] = []
    @Option(name: .customLong("manifest"), help: ArgumentHelp("Provenance manifest whose digests are allowed at their paths (repeatable); its MANIFEST.sig must verify with a --cert.", valueName: "file"))
    package var manifests: [String] = []
    @Option(name: .customLong("keylime-policy"), help: ArgumentHelp("A Keylime runtime policy (JSON) to judge by as well.", valueName: "file"))
    package var keylimePolicies: [String] = []
    @Option(name: .customLong("boot-reference"), help: ArgumentHelp("A boot reference ('signet boot-reference create'): the measured boot is judged first, from the evidence's firmware event log (repeatable: the chains of all are allowed, their rules must agree).", valueName: "file"))
    package var bootReferences: [String] = []
    @Option(name: .customLong("exclude"), help: ArgumentHelp("Paths not judged, glob (repeatable).", valueName: "glob"))
    package var excludes: [String] = []
    @Flag(help: "Accept SHA-1 file digests and signatures (off: SHA-1 is refused).") package var allowSHA1 = false

    /// Reads every file named on the command line.
    package func sources() throws -> ReferenceSources {
        var sources = ReferenceSources(excludes: excludes, allowsSHA1: allowSHA1)
        sources.certificates = try certs.map { ($0, try FileBytes.read($0)) }
        for path in manifests {
            let bytes = try FileBytes.read(path, limit: 1 << 30)
            let signaturePath = path + ".sig"
            guard let signature = try? FileBytes.read(signaturePath) else {
                throw UsageError("\(path): no signature at \(signaturePath); an unsigned manifest is not a reference")
            }
            sources.manifests.append(.init(name: path, data: bytes, signature: signature))
        }
        sources.keylimePolicies = try keylimePolicies.map { ($0, try FileBytes.read($0, limit: 1 << 30)) }
        sources.bootReferences = try bootReferences.map { ($0, try FileBytes.read($0, limit: 16 << 20)) }
        return sources
    }

    /// Loads and checks everything (manifest signatures included) into one reference.
    package func load() throws -> Reference { try sources().build() }
}
