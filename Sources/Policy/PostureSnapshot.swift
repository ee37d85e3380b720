// Posture lives in the Policy module: it judges the running kernel the policies
// of this module are loaded into, and it lints with IMAFormat's PolicyLinter. It
// needs no new dependency; the certificates' descriptions (libkeyutils) are added
// by the CLI through the Keyring module, so this module stays free of it.

/// What one source of the running system gave: its content, a reason it could
/// not be read, or nothing there at all. The evaluator never reads
/// `.unreadable` or `.absent` as "enforced".
public enum PostureSource<Value: Sendable>: Sendable {
    /// Read successfully.
    case value(Value)
    /// There, but could not be read (the reason, as the system gave it).
    case unreadable(String)
    /// Not there.
    case absent

    /// The content when read.
    public var value: Value? {
        if case .value(let v) = self { return v }
        return nil
    }

    /// Why it could not be read, for messages ("absent" or the reason).
    public var problem: String {
        switch self {
        case .value: return "read"
        case .unreadable(let why): return "unreadable: \(why)"
        case .absent: return "absent"
        }
    }
}

/// The files and directories `signet posture` reads, relative to the root.
public enum PosturePaths {
    public static let cmdline = "proc/cmdline"
    public static let osrelease = "proc/sys/kernel/osrelease"
    public static let uidMap = "proc/self/uid_map"
    public static let procKeys = "proc/keys"
    public static let securityfs = "sys/kernel/security"
    public static let lsm = "sys/kernel/security/lsm"
    public static let lockdown = "sys/kernel/security/lockdown"
    public static let imaDirectory = "sys/kernel/security/ima"
    public static let kernelPolicy = "sys/kernel/security/ima/policy"
    public static let evm = "sys/kernel/security/evm"
    public static let sigEnforce = "sys/module/module/parameters/sig_enforce"
    public static let secureBoot = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    public static let configuredPolicy = "etc/ima/ima-policy"
    /// `/boot/config-<release>`.
    public static func kernelConfig(release: String) -> String { "boot/config-\(release)" }
}

/// Everything `signet posture` judges, read once from the running system (or a
/// copy of its /proc, /sys, /boot and /etc). A plain value: the evaluator does
/// no I/O, so tests build snapshots by hand.
public struct PostureSnapshot: Sendable {
    /// /proc/cmdline.
    public var cmdline: PostureSource<String> = .absent
    /// /proc/sys/kernel/osrelease (`uname -r`).
    public var kernelRelease: PostureSource<String> = .absent
    /// /boot/config-<release>, as text.
    public var kernelConfig: PostureSource<String> = .absent
    /// /proc/self/uid_map: whether /proc/keys can show the host's keys.
    public var uidMap: PostureSource<String> = .absent
    /// The names in /sys/kernel/security (empty: securityfs is not mounted).
    public var securityfs: PostureSource<[String]> = .absent
    /// /sys/kernel/security/lsm: the active LSMs, comma-separated.
    public var lsm: PostureSource<String> = .absent
    /// /sys/kernel/security/lockdown (`[none] integrity confidentiality`).
    public var lockdown: PostureSource<String> = .absent
    /// The names in /sys/kernel/security/ima.
    public var imaDirectory: PostureSource<[String]> = .absent
    /// /sys/kernel/security/ima/policy: the loaded rules (CONFIG_IMA_READ_POLICY),
    /// unreadable (write-only: not loaded yet), or absent (loaded, not readable).
    public var kernelPolicy: PostureSource<String> = .absent
    /// /etc/ima/ima-policy: what PID 1 loads at boot.
    public var configuredPolicy: PostureSource<String> = .absent
    /// /sys/module/module/parameters/sig_enforce (`Y` or `N`).
    public var sigEnforce: PostureSource<String> = .absent
    /// /sys/kernel/security/evm: EVM's state, a decimal bitmask.
    public var evm: PostureSource<String> = .absent
    /// The SecureBoot EFI variable: 4 attribute bytes, then the value byte.
    public var secureBoot: PostureSource<[UInt8]> = .absent
    /// /proc/keys.
    public var procKeys: PostureSource<String> = .absent
    /// The key descriptions in a keyring, by keyring name (`_ima`), where the
    /// caller could read the keyring itself (libkeyutils); none: not looked up.
    public var keyringContents: [String: PostureSource<[String]>] = [:]

    /// An empty snapshot: every source absent.
    public init() {}
}

/// One line of /proc/keys.
public struct ProcKey: Sendable, Equatable {
    /// The serial as /proc/keys prints it (hex).
    public var serial: String
    /// The key type (`keyring`, `asymmetri` — /proc/keys cuts types to 9 characters).
    public var type: String
    /// The description; for keyrings without the `: N` count.
    public var name: String
    /// For keyrings: the number of keys linked (`empty` is 0); nil when not shown.
    public var linkedKeys: Int?

    /// Parses /proc/keys (`serial flags usage timeout perm uid gid type description`);
    /// lines that do not have these fields are skipped.
    public static func parse(_ text: String) -> [ProcKey] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true)
            guard fields.count == 9 else { return nil }
            let type = String(fields[7])
            let description = String(fields[8]).trimmedOfSpaces
            guard type == "keyring" else {
                return ProcKey(serial: String(fields[0]), type: type, name: description, linkedKeys: nil)
            }
            // keyring_describe: "<name>: <n>" or "<name>: empty".
            let chars = Array(description)
            guard let colon = (0..<max(0, chars.count - 1)).last(where: { chars[$0] == ":" && chars[$0 + 1] == " " }) else {
                return ProcKey(serial: String(fields[0]), type: type, name: description, linkedKeys: nil)
            }
            let count = String(chars[(colon + 2)...])
            return ProcKey(serial: String(fields[0]), type: type, name: String(chars[..<colon]),
                           linkedKeys: count == "empty" ? 0 : Int(count))
        }
    }
}

/// The kernel command line, split as the kernel does (double quotes group a
/// value with spaces; everything after a lone `--` is for init, not the kernel).
public struct KernelCommandLine: Sendable {
    /// `name` or `name=value` words, in order.
    public let words: [String]

    /// Splits /proc/cmdline.
    public init(_ text: String) {
        var words = [String]()
        var current = "", quoted = false, inWord = false
        for c in text {
            if c == "\"" { quoted.toggle(); inWord = true; continue }
            if c.isWhitespace && !quoted {
                if inWord { words.append(current) }
                current = ""; inWord = false
                continue
            }
            current.append(c); inWord = true
        }
        if inWord { words.append(current) }
        if let end = words.firstIndex(of: "--") { words = Array(words[..<end]) }
        self.words = words
    }

    /// Every value of `name=` in order (the kernel's parameter parsing takes the last
    /// for a plain parameter; some, like `ima_policy=`, add up).
    public func values(_ name: String) -> [String] {
        words.compactMap { w in
            guard w.hasPrefix(name + "=") else { return nil }
            return String(w.dropFirst(name.count + 1))
        }
    }

    /// The value of the last `name=`, as the kernel keeps it; nil when absent.
    public func last(_ name: String) -> String? { values(name).last }
}

extension StringProtocol {
    var trimmedOfSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
