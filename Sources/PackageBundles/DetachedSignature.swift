import SignetCrypto
import Provenance
import Signing

/// The detached signature of a bundle or index file: a plain signature over SHA-256 of the
/// file's exact bytes with the signing key, as `openssl dgst -sha256 -sign KEY` makes it (the same
/// scheme as the manifest's), so it can be checked without Signet:
/// `openssl dgst -sha256 -verify <(openssl x509 -in ima.crt.pem -pubkey -noout) -signature F.sig F`.
public enum DetachedSignature {
    public static func sign(_ bytes: [UInt8], with key: PrivateKey) throws -> [UInt8] {
        try ManifestSignature.sign(bytes, with: key)
    }

    public static func verify(_ bytes: [UInt8], signature: [UInt8], certificate: Certificate) -> Bool {
        certificate.publicKey.verify(signature: signature, digest: Digester.hash(bytes, .sha256), algorithm: .sha256)
    }
}
