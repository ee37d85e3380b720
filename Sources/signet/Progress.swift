#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import SignetCLI
import Provenance
import Signing

/// A one-line progress bar on stderr, redrawn ten times a second while a
/// pipeline runs; only on a terminal.
final class ProgressBar: @unchecked Sendable {
    private let counter: ProgressCounter
    private let label: String
    private let timer: DispatchSourceTimer
    private let start = Clock.now()

    init(_ counter: ProgressCounter, label: String) {
        self.counter = counter
        self.label = label
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "signet.progress"))
        timer.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
        timer.setEventHandler { [unowned self] in self.draw() }
        timer.resume()
    }

    private func draw() {
        let files = counter.files, total = max(counter.totalFiles, 1)
        let fraction = min(1.0, Double(files) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let seconds = max(Clock.now() - start, 0.001)
        let mbps = Double(counter.bytes) / seconds / 1e6
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        Console.write(2, "\r\(label) [\(bar)] \(files)/\(counter.totalFiles) files \(Int(fraction * 100))% \(Int(mbps)) MB/s ")
    }

    /// Stops and clears the line.
    func finish() {
        timer.cancel()
        Console.write(2, "\r" + String(repeating: " ", count: 100) + "\r")
    }
}

/// Monotonic seconds.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Turns SIGINT/SIGTERM into an `InterruptFlag`, so a run stops between
/// files instead of in the middle of one.
final class SignalTrap: @unchecked Sendable {
    let flag = InterruptFlag()
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: DispatchQueue(label: "signet.signals"))
            source.setEventHandler { [flag] in flag.raise() }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for s in sources { s.cancel() }
    }
}
