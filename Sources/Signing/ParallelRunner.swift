import Dispatch
import Synchronization

/// Set from a signal handler or a test to make running pipelines stop taking
/// new files. Files already being processed are finished, never cut in half.
public final class InterruptFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func raise() { flag.store(true, ordering: .relaxed) }
    public var isRaised: Bool { flag.load(ordering: .relaxed) }
}

/// Counters a progress display polls while a pipeline runs.
public final class ProgressCounter: Sendable {
    private let filesDone = Atomic<Int>(0)
    private let bytesDone = Atomic<Int>(0)
    public let totalFiles: Int
    public let totalBytes: Int

    public init(totalFiles: Int, totalBytes: Int) {
        self.totalFiles = totalFiles
        self.totalBytes = totalBytes
    }

    public var files: Int { filesDone.load(ordering: .relaxed) }
    public var bytes: Int { bytesDone.load(ordering: .relaxed) }
    func addFile() { filesDone.add(1, ordering: .relaxed) }
    func addBytes(_ n: Int) { bytesDone.add(n, ordering: .relaxed) }
}

/// Runs `body` for indices 0..<count on `jobs` threads, each with its own
/// worker state (digester, buffer); results land in index order, nil where
/// `interrupt` stopped the run first. The one parallel loop of signing,
/// appraisal and signature bundles.
package enum ParallelRunner {
    /// `body` for each index, with no per-thread state.
    package static func map<Result>(count: Int, jobs: Int, interrupt: InterruptFlag?, _ body: (Int) -> Result) -> [Result?] {
        map(count: count, jobs: jobs, interrupt: interrupt, makeWorker: { () }, body: { _, i in body(i) })
    }

    package static func map<Worker, Result>(count: Int, jobs: Int, interrupt: InterruptFlag?,
                                    makeWorker: () -> Worker,
                                    body: (inout Worker, Int) -> Result) -> [Result?] {
        let slots = ResultSlots<Result>(count: count)
        let next = Atomic<Int>(0)
        let threads = max(1, min(jobs, count))
        withoutActuallyEscaping(makeWorker) { makeWorker in
            withoutActuallyEscaping(body) { body in
                let shared = UncheckedBox((makeWorker, body))
                DispatchQueue.concurrentPerform(iterations: threads) { _ in
                    var worker = shared.value.0()
                    while interrupt?.isRaised != true {
                        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if i >= count { break }
                        slots.store(shared.value.1(&worker, i), at: i)
                    }
                }
            }
        }
        return slots.take()
    }
}

/// Closures passed to `concurrentPerform` are used only while it runs.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// One slot per index, each written by exactly one thread.
private final class ResultSlots<T>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<T?>
    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }
    deinit { buffer.deinitialize().deallocate() }
    func store(_ value: T, at i: Int) { buffer[i] = value }
    func take() -> [T?] { Array(buffer) }
}
