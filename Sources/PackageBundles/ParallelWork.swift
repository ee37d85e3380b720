import Dispatch
import Provenance
import Signing
import Synchronization

/// Runs `body` for 0..<count on `jobs` threads (each with its own worker state); results land in
/// index order, nil where `interrupt` stopped the run first.
enum ParallelWork {
    static func map<Result>(count: Int, jobs: Int, interrupt: InterruptFlag?, _ body: (Int) -> Result) -> [Result?] {
        map(count: count, jobs: jobs, interrupt: interrupt, makeWorker: { () }) { _, i in body(i) }
    }

    static func map<Worker, Result>(count: Int, jobs: Int, interrupt: InterruptFlag?, makeWorker: () -> Worker,
                                    _ body: (Worker, Int) -> Result) -> [Result?] {
        guard count > 0 else { return [] }
        let slots = Slots<Result>(count: count)
        let next = Atomic<Int>(0)
        let threads = max(1, min(jobs, count))
        withoutActuallyEscaping(makeWorker) { makeWorker in
            withoutActuallyEscaping(body) { body in
                let shared = Unchecked((makeWorker, body))
                DispatchQueue.concurrentPerform(iterations: threads) { _ in
                    let worker = shared.value.0()
                    while interrupt?.isRaised != true {
                        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if i >= count { break }
                        slots.store(shared.value.1(worker, i), at: i)
                    }
                }
            }
        }
        return slots.take()
    }

    private struct Unchecked<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    /// One slot per index, each written by exactly one thread.
    private final class Slots<T>: @unchecked Sendable {
        private let buffer: UnsafeMutableBufferPointer<T?>
        init(count: Int) {
            buffer = .allocate(capacity: count)
            buffer.initialize(repeating: nil)
        }
        deinit { buffer.deinitialize().deallocate() }
        func store(_ value: T, at i: Int) { buffer[i] = value }
        func take() -> [T?] { Array(buffer) }
    }
}
