/// The hash functions measurement-log code needs, kept behind a protocol so
/// IMAFormat stays pure (no OpenSSL). SignetCrypto's `IMALogHashing`
/// implements it with OpenSSL; tests may pass any implementation.
public protocol IMAHashing: Sendable {
    /// The digest of the concatenation of `parts` with `algorithm`.
    func hash(_ algorithm: HashAlgorithm, _ parts: [[UInt8]]) -> [UInt8]
}
