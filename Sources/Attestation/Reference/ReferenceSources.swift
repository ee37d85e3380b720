import BootReference
import IMAFormat
import SignetCrypto
import Provenance

/// The inputs a reference is built from, as bytes: trusted certificates, signed manifests,
/// Keylime runtime policies, boot references and excludes. The CLI reads them from files; the verifier service
/// receives them in an upload and stores them as one reference version. Building checks every
/// manifest's signature against the certificates: an unsigned or wrongly signed manifest is
/// never a reference.
public struct ReferenceSources: Sendable {
    public struct SignedManifest: Sendable {
        public var name: String
        public var data: [UInt8]
        public var signature: [UInt8]
        public init(name: String, data: [UInt8], signature: [UInt8]) { self.name = name; self.data = data; self.signature = signature }
    }
    /// PEM (one or more certificates per element), named for messages.
    public var certificates: [(name: String, pem: [UInt8])]
    public var manifests: [SignedManifest]
    public var keylimePolicies: [(name: String, json: [UInt8])]
    /// Boot references (`signet boot-reference create`, JSON), named for messages. Several are
    /// merged into one that allows every chain of each (a kernel rollout); their rules must agree.
    public var bootReferences: [(name: String, json: [UInt8])]
    public var excludes: [String]
    public var allowsSHA1: Bool

    public init(certificates: [(name: String, pem: [UInt8])] = [], manifests: [SignedManifest] = [],
                keylimePolicies: [(name: String, json: [UInt8])] = [], bootReferences: [(name: String, json: [UInt8])] = [],
                excludes: [String] = [], allowsSHA1: Bool = false) {
        self.certificates = certificates; self.manifests = manifests; self.keylimePolicies = keylimePolicies
        self.bootReferences = bootReferences; self.excludes = excludes; self.allowsSHA1 = allowsSHA1
    }

    /// Parses and checks everything into one reference; the error names the input at fault.
    public func build() throws -> Reference {
        let trusted = try certificates.flatMap { try Certificate.parseAll($0.pem, source: $0.name) }
        var reference = Reference(trustStore: TrustStore(trusted), allowsSHA1: allowsSHA1)
        for manifest in manifests {
            _ = try ManifestSignature.verify(manifest.data, signature: manifest.signature, trusted: trusted, source: manifest.name)
            reference.add(try Manifest(parsing: manifest.data, source: manifest.name))
        }
        for policy in keylimePolicies {
            let parsed = try KeylimeRuntimePolicy(parsing: policy.json)
            let imported = try parsed.reference(trustStore: reference.trustStore)
            for (p, digests) in imported.digests.byPath { for d in digests { reference.digests.allow(d, at: p) } }
            for d in imported.digests.pathless { reference.digests.allowAnywhere(d) }
            reference.excludes += imported.excludes
            reference.keyrings = imported.keyrings
            reference.verificationKeys += imported.verificationKeys
        }
        for glob in excludes { reference.excludes.append(try PathPattern.glob(glob)) }
        var boots = [(source: String, reference: BootReference)]()
        for boot in bootReferences { boots.append((boot.name, try BootReference.decode(boot.json, source: boot.name))) }
        reference.boot = try BootReference.merged(boots)
        return reference
    }
}
