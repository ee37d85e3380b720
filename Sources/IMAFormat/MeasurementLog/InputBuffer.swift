/// The not-yet-parsed tail of a log fed in chunks. Only bytes of the entry
/// being assembled are kept: consumed bytes are dropped once they make up
/// half of the storage, so memory stays at about one entry plus one chunk.
struct InputBuffer: Sendable {
    private(set) var storage: [UInt8] = []
    /// Index in `storage` of the first unconsumed byte.
    private(set) var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        compactIfWorthIt(incoming: bytes.count)
        storage.append(contentsOf: bytes)
    }

    /// Marks `n` bytes (at most `count`) as consumed.
    mutating func consume(_ n: Int) {
        head += min(n, count)
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    private mutating func compactIfWorthIt(incoming: Int) {
        guard head > 0, head >= storage.count / 2 || head >= 1 << 20 else { return }
        storage.removeSubrange(0..<head)
        head = 0
    }
}
