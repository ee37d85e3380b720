import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The threads of process `pid` blocked in a sleep right now, with the interval each asked for:
/// nanosleep(2), or clock_nanosleep(2) with a relative interval (what usleep, nanosleep and
/// Thread.sleep call), from /proc/PID/task/TID/syscall and the request read from /proc/PID/mem.
/// A readiness check for "that process (or thread) has reached its wait", without guessing how
/// long it takes. Needs ptrace access to `pid` (root, or a child of this process); x86-64 numbers.
public func sleepingThreads(of pid: pid_t) -> [(thread: pid_t, interval: timespec)] {
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return [] }
    let memory = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC)
    guard memory >= 0 else { return [] }
    defer { close(memory) }
    var sleeping: [(thread: pid_t, interval: timespec)] = []
    for thread in threads {
        // "NR ARG0 ARG1 ... ARG5 SP PC" while blocked in a system call, "running" otherwise.
        guard let tid = pid_t(thread),
              let line = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/syscall", encoding: .utf8) else { continue }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { (field: Substring) -> UInt64? in
            field.hasPrefix("0x") ? UInt64(field.dropFirst(2), radix: 16) : UInt64(field)
        }
        guard fields.count >= 5, let number = fields[0] else { continue }
        let request: UInt64?
        switch number {
        case 35: request = fields[1]                        // nanosleep(req, rem)
        case 230 where fields[2] == 0: request = fields[3]  // clock_nanosleep(clock, flags: relative, req, rem)
        default: continue
        }
        guard let address = request, address != 0 else { continue }
        var interval = timespec()
        let read = withUnsafeMutableBytes(of: &interval) { pread(memory, $0.baseAddress, $0.count, off_t(Int64(bitPattern: address))) }
        if read == MemoryLayout<timespec>.size { sleeping.append((tid, interval)) }
    }
    return sleeping
}
