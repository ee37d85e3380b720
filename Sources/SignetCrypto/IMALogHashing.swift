import IMAFormat
import Synchronization

/// OpenSSL-backed hashing for measurement-log replay: template hashes, PCR
/// extends and the boot aggregate (`IMAHashing` from IMAFormat, which stays
/// free of OpenSSL).
///
/// SHA-1 and SHA-256 (nearly every call) use OpenSSL's block functions with the
/// context on the stack: no shared state, so one value serves any number of
/// threads (the verifier service shares one per reference). Other algorithms
/// reuse `Digester`s (an OpenSSL fetch and context each) behind a lock.
public struct IMALogHashing: IMAHashing {
    private final class Cache: Sendable {
        let digesters = Mutex<[HashAlgorithm: Digester]>([:])
    }

    private let cache = Cache()

    public init() {}

    public func hash(_ algorithm: HashAlgorithm, _ parts: [[UInt8]]) -> [UInt8] {
        if algorithm == .sha1 || algorithm == .sha256 {
            let message = parts.count == 1 ? parts[0] : parts.flatMap { $0 }
            var out = [UInt8](repeating: 0, count: algorithm.digestLength)
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    if algorithm == .sha1 {
                        RawDigest.sha1(m.baseAddress, m.count, into: o.baseAddress!)
                    } else {
                        RawDigest.sha256(m.baseAddress, m.count, into: o.baseAddress!)
                    }
                }
            }
            return out
        }
        return cache.digesters.withLock { digesters in
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
