#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// Why the kernel did not take a policy. Nothing of a refused policy stays
/// loaded: the kernel discards every rule of a write session that had an error.
public struct PolicyLoadError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// securityfs or IMA is not there.
        case noIMA
        /// A policy was already loaded and this kernel takes one per boot.
        case alreadyLoaded
        /// The kernel rejected a rule.
        case ruleRejected
        case permissionDenied
        case failed
    }
    public let code: Code
    /// 1-based line of the rejected rule in the file, when known.
    public let line: Int?
    public let reason: String
    public var description: String { (line.map { "line \($0): " } ?? "") + reason }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}

/// Writes an IMA policy to securityfs one rule per write(2), as the kernel
/// parses it, so a rejection names the rule. The kernel replaces or extends
/// its policy only when the file is closed after error-free writes.
public struct PolicyLoader: Sendable {
    public static let defaultPath = "/sys/kernel/security/ima/policy"
    public var path: String

    public init(path: String = PolicyLoader.defaultPath) { self.path = path }

    /// Loads the rules of `text` (comments and blank lines are not sent).
    /// Returns the number of rules written.
    @discardableResult
    public func load(_ text: String) throws -> Int {
        let rules = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { (i, raw) -> (Int, String)? in
            let line = raw.trimmingWhitespace()
            return line.isEmpty || line.hasPrefix("#") ? nil : (i + 1, line)
        }
        guard !rules.isEmpty else {
            throw PolicyLoadError(code: .failed, line: nil, reason: "the policy has no rules; nothing was loaded")
        }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            switch e {
            case ENOENT:
                var st = stat()
                let imaDir = String(path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
                if stat(imaDir, &st) == 0 {
                    throw PolicyLoadError(code: .alreadyLoaded, line: nil,
                                          reason: "\(path) is gone: a policy was already loaded and this kernel accepts one per boot (CONFIG_IMA_WRITE_POLICY is off)")
                }
                throw PolicyLoadError(code: .noIMA, line: nil,
                                      reason: "\(path) does not exist: mount securityfs (mount -t securityfs securityfs /sys/kernel/security) on a kernel with CONFIG_IMA")
            case EBUSY:
                throw PolicyLoadError(code: .failed, line: nil, reason: "\(path) is busy: another process is writing a policy")
            case EACCES, EPERM:
                throw PolicyLoadError(code: .permissionDenied, line: nil,
                                      reason: "not permitted to open \(path) (needs root with CAP_SYS_ADMIN; a loaded policy may also forbid replacing it)")
            default:
                throw PolicyLoadError(code: .failed, line: nil, reason: "cannot open \(path): \(errnoDescription(e))")
            }
        }
        for (lineNumber, rule) in rules {
            let bytes = Array((rule + "\n").utf8)
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n != bytes.count {
                let e = errno
                close(fd)  // the kernel discards the whole update on release after an error
                throw PolicyLoadError(code: .ruleRejected, line: lineNumber,
                                      reason: "the kernel rejected '\(rule)': \(n < 0 ? errnoDescription(e) : "short write"); no rule of this policy was loaded (see dmesg for 'ima: policy update failed')")
            }
        }
        guard close(fd) == 0 else {
            throw PolicyLoadError(code: .failed, line: nil, reason: "closing \(path) failed: \(errnoDescription(errno)); the kernel may have discarded the policy")
        }
        return rules.count
    }
}


extension Substring {
    func trimmingWhitespace() -> String {
        let chars = Array(self)
        var start = 0, end = chars.count
        while start < end && chars[start].isWhitespace { start += 1 }
        while end > start && chars[end - 1].isWhitespace { end -= 1 }
        return String(chars[start..<end])
    }
}
