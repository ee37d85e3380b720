import IMAFormat
import Synchronization

/// OpenSSL-backed hashing for measurement-log replay: template hashes, PCR
/// extends and the boot aggregate (`IMAHashing` from IMAFormat, which stays
/// free of OpenSSL).
///
/// Replaying a log hashes a few times per entry, so the `Digester`s (an
/// OpenSSL fetch and context each) are kept and reused behind a lock instead
/// of being made per call (a third faster on a long log). Copies of one value
/// share them and concurrent callers take turns: give each task its own
/// value when hashing in parallel.
public struct IMALogHashing: IMAHashing {
    private final class Cache: Sendable {
        let digesters = Mutex<[HashAlgorithm: Digester]>([:])
    }

    private let cache = Cache()

    public init() {}

    public func hash(_ algorithm: HashAlgorithm, _ parts: [[UInt8]]) -> [UInt8] {
        cache.digesters.withLock { digesters in
            let digester: Digester
            if let known = digesters[algorithm] {
                digester = known
            } else {
                digester = Digester(algorithm)
                digesters[algorithm] = digester
            }
            for part in parts { digester.update(part) }
            return digester.finalize()
        }
    }
}
