import IMAFormat
import SignetCrypto

/// A bare public key that may verify `ima-sig` signatures, found by its IMA
/// keyid like a certificate in the trust store. Keylime policies carry keys
/// this way (`verification-keys`), without certificates.
public struct VerificationKey: Sendable {
    /// The keyid signatures carry (last 4 bytes of SHA-1 over subjectPublicKey,
    /// or of the certificate's SKID).
    public let keyID: UInt32
    public let publicKey: PublicKey

    /// A key with an explicit keyid (a Keylime `keyids` entry).
    public init(keyID: UInt32, publicKey: PublicKey) {
        self.keyID = keyID
        self.publicKey = publicKey
    }

    /// A key whose keyid is computed as evmctl does.
    public init(publicKey: PublicKey) {
        self.init(keyID: publicKey.imaKeyID, publicKey: publicKey)
    }
}
