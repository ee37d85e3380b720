import IMAFormat

/// Whether a protection holds on the running system.
public enum PostureState: String, Codable, Sendable {
    /// Read, and it holds.
    case enforced
    /// Read, and it does not hold.
    case open
    /// Could not be read or decided: never taken as enforced.
    case unknown
}

/// How much an item matters when it is open or unknown. Ordered: `.info < .warning < .error`.
public enum PostureSeverity: String, Codable, Comparable, CaseIterable, Sendable {
    case info, warning, error

    private var rank: Int { self == .info ? 0 : self == .warning ? 1 : 2 }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// One judged item: a stable id, its state, what was read and how to fix it.
public struct PostureItem: Codable, Sendable, Equatable {
    /// Stable: `ima-appraise-mode`, `lockdown`, `ima-policy/<lint id>`, …
    public var id: String
    public var state: PostureState
    public var severity: PostureSeverity
    /// What was read (naming the file) and what it means.
    public var message: String
    /// What to do; empty when nothing needs doing.
    public var fix: String

    public init(_ id: String, _ state: PostureState, _ severity: PostureSeverity, _ message: String, fix: String = "") {
        self.id = id
        self.state = state
        self.severity = severity
        self.message = message
        self.fix = fix
    }

    /// Whether this item counts towards the exit code (open or unknown).
    public var counts: Bool { state != .enforced }
}

/// Every item, the worst severity among the open and unknown ones, and the exit code.
public struct PostureReport: Codable, Sendable, Equatable {
    public var items: [PostureItem]
    /// `error`, `warning`, `info`, or `none` when every item is enforced.
    public var worst: String
    /// 2 when the worst open-or-unknown item is an error, 1 for a warning, 0 otherwise.
    public var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case items, worst
        case exitCode = "exit_code"
    }

    /// A report over `items`, its worst severity and exit code computed.
    public init(items: [PostureItem]) {
        self.items = items
        let worst = items.filter(\.counts).map(\.severity).max()
        self.worst = worst?.rawValue ?? "none"
        switch worst {
        case .error?: exitCode = 2
        case .warning?: exitCode = 1
        case .info?, nil: exitCode = 0
        }
    }

    /// The item with this id, if any.
    public func item(_ id: String) -> PostureItem? { items.first { $0.id == id } }
}

/// Judges a `PostureSnapshot`: pure, no I/O. Each item reads only the snapshot;
/// a source that could not be read makes its item `unknown`, never `enforced`.
public enum PostureEvaluator {
    static let grubFix = "(GRUB_CMDLINE_LINUX in /etc/default/grub or a file in /etc/default/grub.d/, then update-grub) and reboot"

    /// Every item, in a fixed order.
    public static func evaluate(_ s: PostureSnapshot) -> PostureReport {
        let facts = Facts(s)
        var items = [appraiseMode(s), policyParameter(facts), template(facts), lsm(facts), lockdown(facts)]
        let modules = moduleSignatures(facts)
        items += [modules, blockDeviceWrites(facts)]
        items += policyItems(facts, modulesEnforced: modules.state == .enforced)
        items += [keyrings(facts), evm(facts), secureBoot(s)]
        return PostureReport(items: items)
    }

    // MARK: - ima-appraise-mode

    /// Whether the kernel enforces appraisal or only logs it (`ima_appraise=`),
    /// shared with `signet policy load`.
    public static func appraiseMode(_ s: PostureSnapshot) -> PostureItem {
        let id = "ima-appraise-mode"
        guard let text = s.cmdline.value else {
            return PostureItem(id, .unknown, .error, "cannot read /proc/cmdline (\(s.cmdline.problem)): whether the kernel enforces appraisal is not known",
                               fix: "run on the host itself with /proc mounted")
        }
        let config = s.kernelConfig.value.map { KernelConfig(version: "", text: $0) }
        if let config, !config.has("CONFIG_IMA_APPRAISE") {
            return PostureItem(id, .open, .error, "the kernel is built without CONFIG_IMA_APPRAISE (/boot/config-*): it never appraises, whatever the policy says",
                               fix: "boot a kernel with CONFIG_IMA_APPRAISE=y (Debian's has it)")
        }
        guard let value = KernelCommandLine(text).last("ima_appraise") else {
            return PostureItem(id, .enforced, .info, "no ima_appraise= on the kernel command line (/proc/cmdline): the kernel's default, enforce, applies")
        }
        let mode = String(value.prefix(3))
        guard ["off", "log", "fix"].contains(mode) else {
            let known = value.hasPrefix("enforce")
            return PostureItem(id, .enforced, .info, known
                ? "ima_appraise=\(value) on the kernel command line (/proc/cmdline): appraisal enforces"
                : "ima_appraise=\(value) on the kernel command line (/proc/cmdline) is not a mode the kernel knows; it ignores it and enforces")
        }
        let fix = "remove ima_appraise=\(value) from the kernel command line \(grubFix)"
        if let config, config.options["CONFIG_IMA_APPRAISE_BOOTPARAM"] != "y" {
            return PostureItem(id, .enforced, .info, "ima_appraise=\(value) is on the kernel command line (/proc/cmdline), but the kernel is built without CONFIG_IMA_APPRAISE_BOOTPARAM and ignores it", fix: fix)
        }
        if secureBootOn(s) == true {
            return PostureItem(id, .enforced, .info, "ima_appraise=\(value) is on the kernel command line (/proc/cmdline), but Secure Boot is on: the kernel ignores the parameter and enforces", fix: fix)
        }
        let effect: String
        switch mode {
        case "log": effect = "the kernel only logs appraisal failures; every unsigned program still runs"
        case "fix": effect = "the kernel writes the hash of every file it appraises into security.ima instead of refusing it; every unsigned program still runs"
        default: effect = "appraisal is off; every unsigned program still runs"
        }
        var secureBootNote = ""
        if case .unreadable = s.secureBoot { secureBootNote = " (Secure Boot, which would override it, could not be read)" }
        return PostureItem(id, .open, .error, "ima_appraise=\(value) on the kernel command line (/proc/cmdline): \(effect)\(secureBootNote)", fix: fix)
    }

    /// The SecureBoot variable: true/false, nil when it could not be read.
    static func secureBootOn(_ s: PostureSnapshot) -> Bool? {
        guard let bytes = s.secureBoot.value, bytes.count >= 5 else { return nil }
        return bytes[4] == 1
    }

    // MARK: - Command line and kernel items

    static func policyParameter(_ f: Facts) -> PostureItem {
        let id = "ima-policy-param"
        guard let cmdline = f.cmdline else {
            return PostureItem(id, .unknown, .info, "cannot read /proc/cmdline (\(f.s.cmdline.problem)): the built-in policies are not known")
        }
        let builtins = f.builtins(cmdline)
        if builtins.isEmpty {
            return PostureItem(id, .open, .info, "no ima_policy= on the kernel command line (/proc/cmdline): no built-in policy; until a custom policy is loaded the kernel appraises nothing (beyond an arch policy under Secure Boot)")
        }
        let list = builtins.joined(separator: ", ")
        if builtins.contains("appraise_tcb") || builtins.contains("secure_boot") {
            return PostureItem(id, .enforced, .info, "built-in policies from ima_policy= on the kernel command line (/proc/cmdline): \(list); they appraise from boot until a custom policy replaces them")
        }
        return PostureItem(id, .open, .info, "built-in policies from ima_policy= on the kernel command line (/proc/cmdline): \(list); none of them appraises")
    }

    static func template(_ f: Facts) -> PostureItem {
        let id = "ima-template"
        guard let cmdline = f.cmdline else {
            return PostureItem(id, .unknown, .info, "cannot read /proc/cmdline (\(f.s.cmdline.problem)): the measurement template is not known")
        }
        guard let name = cmdline.last("ima_template") else {
            let configured = f.config?.options["CONFIG_IMA_DEFAULT_TEMPLATE"].map { " (\($0.replacingQuotes))" } ?? ""
            return PostureItem(id, .enforced, .info, "no ima_template= on the kernel command line (/proc/cmdline): the kernel's default template\(configured)")
        }
        if name == "ima" {
            return PostureItem(id, .open, .warning, "ima_template=ima on the kernel command line (/proc/cmdline): the legacy template records only SHA-1 digests and no signatures",
                               fix: "use ima_template=ima-sig (or ima-ng) instead \(grubFix)")
        }
        return PostureItem(id, .enforced, .info, "ima_template=\(name) on the kernel command line (/proc/cmdline)")
    }

    static func lsm(_ f: Facts) -> PostureItem {
        let id = "lsm"
        let fix = "remove lsm= from the kernel command line or add integrity to it \(grubFix)"
        func hasIntegrity(_ list: String) -> Bool {
            list.split(separator: ",").contains { $0.trimmedOfSpaces == "integrity" || $0.trimmedOfSpaces == "ima" }
        }
        if let active = f.s.lsm.value {
            let list = active.trimmedOfSpaces
            return hasIntegrity(list)
                ? PostureItem(id, .enforced, .info, "active LSMs (/sys/kernel/security/lsm): \(list)")
                : PostureItem(id, .open, .error, "active LSMs (/sys/kernel/security/lsm): \(list): neither integrity nor ima, so IMA and EVM are off", fix: fix)
        }
        let lsmNote = "/sys/kernel/security/lsm \(f.s.lsm.problem)"
        guard let cmdline = f.cmdline else {
            return PostureItem(id, .unknown, .warning, "cannot read /proc/cmdline (\(f.s.cmdline.problem)) nor the active LSMs (\(lsmNote))")
        }
        if let list = cmdline.last("lsm") {
            return hasIntegrity(list)
                ? PostureItem(id, .enforced, .info, "lsm=\(list) on the kernel command line (/proc/cmdline) includes integrity (\(lsmNote))")
                : PostureItem(id, .open, .error, "lsm=\(list) on the kernel command line (/proc/cmdline) leaves out integrity: IMA and EVM are off", fix: fix)
        }
        if let configured = f.config?.options["CONFIG_LSM"] {
            return hasIntegrity(configured.replacingQuotes)
                ? PostureItem(id, .enforced, .info, "no lsm= on the kernel command line: the kernel's CONFIG_LSM \(configured) includes integrity (\(lsmNote))")
                : PostureItem(id, .open, .error, "no lsm= on the kernel command line, and the kernel's CONFIG_LSM \(configured) leaves out integrity: IMA and EVM are off",
                              fix: "add lsm=<the current list>,integrity to the kernel command line \(grubFix)")
        }
        return PostureItem(id, .unknown, .warning, "no lsm= on the kernel command line, and neither the active LSMs (\(lsmNote)) nor the kernel configuration (\(f.configPath) \(f.s.kernelConfig.problem)) could be read")
    }

    enum LockdownLevel: Int, Comparable {
        case none, integrity, confidentiality
        static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// The bracketed level of /sys/kernel/security/lockdown.
    static func lockdownLevel(_ text: String) -> LockdownLevel? {
        for word in text.split(whereSeparator: \.isWhitespace) where word.hasPrefix("[") && word.hasSuffix("]") {
            switch word.dropFirst().dropLast() {
            case "none": return LockdownLevel.none
            case "integrity": return .integrity
            case "confidentiality": return .confidentiality
            default: return nil
            }
        }
        return nil
    }

    static func lockdown(_ f: Facts) -> PostureItem {
        let id = "lockdown"
        let fix = "add lockdown=integrity to the kernel command line \(grubFix) (Debian turns it on under Secure Boot)"
        switch f.s.lockdown {
        case .value(let text):
            guard let level = lockdownLevel(text) else {
                return PostureItem(id, .unknown, .warning, "/sys/kernel/security/lockdown reads '\(text.trimmedOfSpaces)': no level in brackets")
            }
            if level == .none {
                return PostureItem(id, .open, .warning, "lockdown is none (/sys/kernel/security/lockdown): root can change the running kernel (/dev/mem, kprobes, unsigned kexec, hibernation images)", fix: fix)
            }
            return PostureItem(id, .enforced, .info, "lockdown is \(level) (/sys/kernel/security/lockdown)")
        case .absent where f.securityfsMounted:
            return PostureItem(id, .open, .warning, "no /sys/kernel/security/lockdown with securityfs mounted: the lockdown LSM is not active", fix: fix)
        default:
            return PostureItem(id, .unknown, .warning, "cannot read /sys/kernel/security/lockdown (\(f.s.lockdown.problem)\(f.securityfsMounted ? "" : "; securityfs is not mounted"))")
        }
    }

    static func moduleSignatures(_ f: Facts) -> PostureItem {
        let id = "module-signatures"
        let sig = f.s.sigEnforce.value?.trimmedOfSpaces
        if sig == "Y" {
            return PostureItem(id, .enforced, .info, "module signatures are enforced (/sys/module/module/parameters/sig_enforce is Y)")
        }
        if let level = f.s.lockdown.value.flatMap(lockdownLevel), level >= .integrity {
            return PostureItem(id, .enforced, .info, "lockdown is \(level) (/sys/kernel/security/lockdown): the kernel loads only signed modules")
        }
        if let config = f.config {
            if config.options["CONFIG_MODULE_SIG_FORCE"] == "y" {
                return PostureItem(id, .enforced, .info, "the kernel is built with CONFIG_MODULE_SIG_FORCE (\(f.configPath)): it loads only signed modules")
            }
            if !config.has("CONFIG_MODULES") {
                return PostureItem(id, .enforced, .info, "the kernel is built without loadable modules (\(f.configPath))")
            }
        }
        let appraised = f.policyAppraisesModules
        let fix = "add module.sig_enforce=1 (or lockdown=integrity) to the kernel command line \(grubFix)"
            + (appraised == true ? "" : ", and appraise func=MODULE_CHECK in the IMA policy")
        let what: String
        let severity: PostureSeverity
        switch appraised {
        case true?:
            // IMA closes the door, but refuses every module loaded from a buffer (no file to
            // appraise): kmod before 31 loads every compressed .ko.xz that way.
            severity = .warning
            what = "the IMA policy appraises MODULE_CHECK, so modules loaded from a file need IMA signatures, but every module loaded from a buffer (init_module(2): kmod before version 31 loads each .ko.xz that way) is refused, Debian's own included"
        case false?:
            severity = .error
            what = "root can load unsigned kernel modules, kernel code that no exec check sees, and the IMA policy does not appraise MODULE_CHECK either"
        case nil:
            severity = .error
            what = "whether the IMA policy appraises MODULE_CHECK is not known"
        }
        guard sig == "N" else {
            return PostureItem(id, .unknown, severity, "cannot read /sys/module/module/parameters/sig_enforce (\(f.s.sigEnforce.problem)) and lockdown is not integrity or confidentiality; \(what)", fix: fix)
        }
        return PostureItem(id, .open, severity, "sig_enforce is N (/sys/module/module/parameters/sig_enforce) and lockdown is not integrity: \(what)", fix: fix)
    }

    /// `kstrtobool`: 1/y/t/on true, 0/n/f/off false.
    static func kernelBool(_ text: String) -> Bool? {
        let t = text.lowercased()
        if t.hasPrefix("on") { return true }
        if t.hasPrefix("of") { return false }
        switch t.first {
        case "1", "y", "t": return true
        case "0", "n", "f": return false
        default: return nil
        }
    }

    static func blockDeviceWrites(_ f: Facts) -> PostureItem {
        let id = "bdev-write-mounted"
        let hole = "root can rewrite signed files' blocks through the raw device"
        let oldFix = "use dm-verity for the signed filesystem, or a kernel ≥ 6.8 booted with bdev_allow_write_mounted=0"
        guard let cmdline = f.cmdline else {
            return PostureItem(id, .unknown, .error, "cannot read /proc/cmdline (\(f.s.cmdline.problem)): whether writes to mounted block devices are refused is not known")
        }
        let value = cmdline.last("bdev_allow_write_mounted")
        let refuses = value.flatMap(kernelBool) == false
        guard let version = f.version else {
            return PostureItem(id, .unknown, .error, "cannot read the kernel release (/proc/sys/kernel/osrelease \(f.s.kernelRelease.problem)): whether it has bdev_allow_write_mounted (6.8+) is not known")
        }
        if version < KernelVersion(6, 8) {
            return PostureItem(id, .open, .warning, "kernel \(version) predates bdev_allow_write_mounted (6.8)\(value == nil ? "" : ", so bdev_allow_write_mounted=\(value!) is ignored"): \(hole)", fix: oldFix)
        }
        if refuses {
            return PostureItem(id, .enforced, .info, "bdev_allow_write_mounted=\(value!) on the kernel command line (/proc/cmdline): writes to block devices with a mounted filesystem are refused")
        }
        if value == nil, let config = f.config, config.options["CONFIG_BLK_DEV_WRITE_MOUNTED"] != "y" {
            return PostureItem(id, .enforced, .info, "kernel \(version) is built without CONFIG_BLK_DEV_WRITE_MOUNTED (\(f.configPath)): writes to block devices with a mounted filesystem are refused")
        }
        let why = value.map { "bdev_allow_write_mounted=\($0) on the kernel command line (/proc/cmdline)" }
            ?? "no bdev_allow_write_mounted=0 on the kernel command line (/proc/cmdline) of kernel \(version)\(f.config == nil ? " (its configuration is unreadable: assuming CONFIG_BLK_DEV_WRITE_MOUNTED=y, as Debian builds it)" : ", built with CONFIG_BLK_DEV_WRITE_MOUNTED=y")"
        return PostureItem(id, .open, .error, "\(why): \(hole)",
                           fix: "add bdev_allow_write_mounted=0 to the kernel command line \(grubFix)")
    }

    // MARK: - ima-policy

    static func policyItems(_ f: Facts, modulesEnforced: Bool) -> [PostureItem] {
        let id = "ima-policy"
        var head: PostureItem
        var lintLabel = ""
        var linted: IMAPolicy?
        switch f.policy {
        case .noIMA(let why):
            return [PostureItem(id, .unknown, .error, why, fix: "mount securityfs (mount -t securityfs securityfs /sys/kernel/security) and run on the host, with a kernel built with CONFIG_IMA")]
        case .unparsable(let source, let error):
            return [PostureItem(id, .unknown, .error, "\(source) does not parse: \(error)")]
        case .loaded(let policy):
            linted = policy
            lintLabel = "loaded policy (\(PolicyLoader.defaultPath)): "
            if policy.rules.isEmpty {
                head = PostureItem(id, .open, .error, "the kernel's policy (\(PolicyLoader.defaultPath)) has no rules: no custom policy is loaded, and nothing is appraised",
                                   fix: "load one: signet policy load /etc/ima/ima-policy (systemd loads /etc/ima/ima-policy at boot)")
                return [head]
            }
            head = appraisesAnything(policy)
                ? PostureItem(id, .enforced, .info, "custom policy loaded (\(PolicyLoader.defaultPath), \(policy.rules.count) rules)")
                : PostureItem(id, .open, .error, "the loaded policy (\(PolicyLoader.defaultPath), \(policy.rules.count) rules) appraises nothing: every unsigned program runs",
                              fix: "generate an appraising policy (signet policy generate --profile exec-signed) and load it")
        case .notLoaded(let reason):
            head = PostureItem(id, .open, .error, "no custom policy loaded yet: \(PolicyLoader.defaultPath) is still there but not readable (\(reason)); this kernel removes it once a policy is loaded, so the kernel runs only its built-in policy",
                               fix: "load the keys, then the policy: signet keyring load /etc/keys/ima/*.der && signet policy load /etc/ima/ima-policy (systemd loads /etc/ima/ima-policy at boot)")
            return [head]
        case .undecidable(let reason, let configured):
            head = PostureItem(id, .unknown, .warning, "\(PolicyLoader.defaultPath) is not readable (\(reason)) and this kernel keeps it after a load (CONFIG_IMA_WRITE_POLICY, or its configuration is unreadable): whether a custom policy is loaded is not known")
            guard case .value(let policy)? = configured else { return [head] + configuredProblem(f) }
            linted = policy
            lintLabel = "configured policy /etc/ima/ima-policy (the kernel's copy is not readable): "
        case .loadedUnreadable(let configured):
            head = PostureItem(id, .unknown, .info, "a custom policy was loaded (\(PolicyLoader.defaultPath) is gone), but this kernel does not let it be read (CONFIG_IMA_READ_POLICY off); the configured policy /etc/ima/ima-policy is linted instead")
            guard case .value(let policy)? = configured else { return [head] + configuredProblem(f) }
            linted = policy
            lintLabel = "configured policy /etc/ima/ima-policy (the kernel's copy is not readable): "
        }
        guard let linted else { return [head] }
        return [head] + lintItems(PolicyLinter.lint(linted, kernel: f.version, context: PolicyLintContext(moduleSignaturesEnforced: modulesEnforced)),
                                  label: lintLabel, modulesEnforced: modulesEnforced)
    }

    static func configuredProblem(_ f: Facts) -> [PostureItem] {
        switch f.configuredPolicy {
        case .unreadable(let why)?:
            return [PostureItem("ima-policy/configured", .unknown, .warning, "the configured policy /etc/ima/ima-policy cannot be checked: \(why)")]
        default:
            return []
        }
    }

    /// The lint findings as items, one per finding id (lines joined).
    static func lintItems(_ findings: [PolicyFinding], label: String, modulesEnforced: Bool) -> [PostureItem] {
        var order = [String]()
        var grouped = [String: [PolicyFinding]]()
        for finding in findings {
            if grouped[finding.id.rawValue] == nil { order.append(finding.id.rawValue) }
            grouped[finding.id.rawValue, default: []].append(finding)
        }
        return order.map { key in
            let group = grouped[key]!
            let severity: PostureSeverity
            switch group.map(\.severity).max()! {
            case .error: severity = .error
            case .warning: severity = .warning
            case .info: severity = .info
            }
            // The linter already lowered MODULE_CHECK to info when module signatures are enforced.
            let note = key == "kernel-code-unappraised" && modulesEnforced ? " (module signatures are enforced by the kernel: see module-signatures)" : ""
            let text = group.map { ($0.line.map { "line \($0): " } ?? "") + $0.message }.joined(separator: "; ")
            return PostureItem("ima-policy/\(key)", .open, severity, label + text + note, fix: group[0].fix)
        }
    }

    /// Whether any rule appraises.
    static func appraisesAnything(_ policy: IMAPolicy) -> Bool {
        policy.rules.contains { $0.action == .appraise }
    }

    /// Whether a rule appraises module loading (func=MODULE_CHECK or no func=).
    static func appraisesModules(_ policy: IMAPolicy) -> Bool {
        policy.rules.contains { $0.action == .appraise && ($0.hook == nil || $0.hook == .moduleCheck) }
    }

    // MARK: - Keys, EVM, Secure Boot

    static func keyrings(_ f: Facts) -> PostureItem {
        let id = "keyrings"
        let fix = "load the certificates: signet keyring load /etc/keys/ima/*.der (the boot integration does it before PID 1 loads the policy)"
        let appraises = f.policyAppraises
        let need: PostureSeverity = appraises == false ? .info : .error
        if let map = f.s.uidMap.value, !map.split(whereSeparator: \.isWhitespace).elementsEqual(["0", "0", "4294967295"]) {
            return PostureItem(id, .unknown, need, "this process runs in a user namespace (/proc/self/uid_map: \(map.trimmedOfSpaces)): /proc/keys does not show the host's keyrings", fix: "run on the host as root")
        }
        guard let text = f.s.procKeys.value else {
            return PostureItem(id, .unknown, need, "cannot read /proc/keys (\(f.s.procKeys.problem)): the IMA keyring is not known", fix: "run on the host as root with /proc mounted")
        }
        let keys = ProcKey.parse(text)
        func ring(_ names: [String]) -> ProcKey? {
            names.lazy.compactMap { n in keys.first { $0.type == "keyring" && $0.name == n } }.first
        }
        let evmRing = ring([".evm", "_evm"])
        let evmNote = evmRing.map { "; EVM keyring \($0.name) (serial \($0.serial)): \(describe($0, f).text)" } ?? "; no EVM keyring (.evm or _evm)"
        guard let ima = ring([".ima", "_ima"]) else {
            let why = appraises == false ? "the policy appraises nothing, so none is needed yet"
                : appraises == true ? "the appraising policy refuses every signed program" : "an appraising policy would refuse every signed program"
            return PostureItem(id, .open, need, "no IMA keyring (.ima or _ima) in /proc/keys: \(why)\(evmNote)", fix: fix)
        }
        let d = describe(ima, f)
        switch d.count {
        case nil:
            return PostureItem(id, .unknown, need, "IMA keyring \(ima.name) (serial \(ima.serial)) in /proc/keys: \(d.text)\(evmNote)", fix: KeyringHint.notPossessed)
        case 0?:
            return PostureItem(id, .open, need, "IMA keyring \(ima.name) (serial \(ima.serial)) is empty (/proc/keys)\(appraises == false ? "" : ": an appraising policy refuses every signed program")\(evmNote)", fix: fix)
        default:
            return PostureItem(id, .enforced, .info, "IMA keyring \(ima.name) (serial \(ima.serial)): \(d.text)\(evmNote)")
        }
    }

    /// The number of keys in a keyring and a description of them.
    static func describe(_ ring: ProcKey, _ f: Facts) -> (count: Int?, text: String) {
        switch f.s.keyringContents[ring.name] {
        case .value(let descriptions)?:
            let count = ring.linkedKeys ?? descriptions.count
            return (count, descriptions.isEmpty ? "\(count) key(s)" : "\(count) key(s): " + descriptions.joined(separator: "; "))
        case .unreadable(let why)?:
            guard let count = ring.linkedKeys else { return (nil, "its keys cannot be read: \(why)") }
            return (count, "\(count) key(s) (their descriptions cannot be read: \(why))")
        case .absent?, nil:
            guard let count = ring.linkedKeys else { return (nil, "the number of keys is not shown") }
            return (count, "\(count) key(s)")
        }
    }

    static func evm(_ f: Facts) -> PostureItem {
        let id = "evm"
        let fix = "load the EVM certificate (signet keyring load --keyring evm …), then echo 2 > /sys/kernel/security/evm (X509)"
        switch f.s.evm {
        case .value(let text):
            guard let raw = Int64(text.trimmedOfSpaces) else {
                return PostureItem(id, .unknown, .info, "/sys/kernel/security/evm reads '\(text.trimmedOfSpaces)': not a number")
            }
            let bits = raw & 0x7fff_ffff  // EVM_SETUP_COMPLETE is not part of the mode
            let evmKeys = f.evmKeyCount ?? 0
            if bits & 3 == 0 {
                return evmKeys > 0
                    ? PostureItem(id, .open, .warning, "EVM is off (/sys/kernel/security/evm is \(raw)) although the EVM keyring holds \(evmKeys) key(s): file metadata (owner, mode, security.ima itself) is not protected", fix: fix)
                    : PostureItem(id, .open, .info, "EVM is off (/sys/kernel/security/evm is \(raw)): IMA signatures are checked on their own; file metadata (owner, mode) is not protected", fix: fix)
            }
            let modes = [(1, "HMAC"), (2, "X509")].filter { bits & Int64($0.0) != 0 }.map(\.1).joined(separator: "+")
            if bits & 4 != 0 {
                return PostureItem(id, .open, .warning, "EVM is on (\(modes); /sys/kernel/security/evm is \(raw)) but allows metadata writes (EVM_ALLOW_METADATA_WRITES): metadata changes are not verified",
                                   fix: "do not write 4 to /sys/kernel/security/evm")
            }
            return PostureItem(id, .enforced, .info, "EVM is on (\(modes); /sys/kernel/security/evm is \(raw))")
        case .absent where f.securityfsMounted:
            return PostureItem(id, .open, .info, "no /sys/kernel/security/evm with securityfs mounted: the kernel has no EVM")
        default:
            return PostureItem(id, .unknown, .info, "cannot read /sys/kernel/security/evm (\(f.s.evm.problem)\(f.securityfsMounted ? "" : "; securityfs is not mounted"))")
        }
    }

    static func secureBoot(_ s: PostureSnapshot) -> PostureItem {
        let id = "secure-boot"
        let path = "/" + PosturePaths.secureBoot
        let fix = "enable Secure Boot in the firmware (Debian's shim and kernel are signed)"
        switch s.secureBoot {
        case .value(let bytes):
            guard bytes.count >= 5 else {
                return PostureItem(id, .unknown, .warning, "\(path) has \(bytes.count) bytes, not 4 attribute bytes and a value")
            }
            return bytes[4] == 1
                ? PostureItem(id, .enforced, .info, "Secure Boot is on (\(path))")
                : PostureItem(id, .open, .warning, "Secure Boot is off (\(path) is \(bytes[4])): the boot chain is not verified, and the kernel honours ima_appraise= and lockdown= from its command line", fix: fix)
        case .unreadable(let why):
            return PostureItem(id, .unknown, .warning, "cannot read \(path): \(why)")
        case .absent:
            return PostureItem(id, .unknown, .warning, "no \(path): a BIOS boot, or efivarfs is not mounted; Secure Boot cannot be confirmed", fix: fix)
        }
    }
}

/// The hint for a keyring a process cannot read (the Keyring module's wording).
enum KeyringHint {
    static let notPossessed = "a systemd service does not possess the user keyring: set KeyringMode=shared in the unit, or run from a login session"
}

/// What several items share, worked out once from a snapshot.
struct Facts {
    let s: PostureSnapshot
    let cmdline: KernelCommandLine?
    let config: KernelConfig?
    let version: KernelVersion?
    let configPath: String
    let securityfsMounted: Bool
    let policy: PolicyView
    let configuredPolicy: PostureSource<IMAPolicy>?

    /// The policy the kernel runs, as far as it can be known.
    enum PolicyView {
        case noIMA(String)
        case unparsable(source: String, error: String)
        case loaded(IMAPolicy)
        /// The write-only file is there on a kernel that removes it after a load.
        case notLoaded(String)
        /// The file is there and unreadable, on a kernel that may keep it after a load.
        case undecidable(String, configured: PostureSource<IMAPolicy>?)
        /// The file is gone: loaded, not readable.
        case loadedUnreadable(configured: PostureSource<IMAPolicy>?)
    }

    init(_ s: PostureSnapshot) {
        self.s = s
        cmdline = s.cmdline.value.map(KernelCommandLine.init)
        let release = s.kernelRelease.value?.trimmedOfSpaces
        version = release.flatMap(KernelVersion.init)
        configPath = "/boot/config-\(release ?? "<release>")"
        config = s.kernelConfig.value.map { KernelConfig(version: release ?? "", text: $0) }
        securityfsMounted = !(s.securityfs.value ?? []).isEmpty

        var configured: PostureSource<IMAPolicy>?
        var configuredError: String?
        switch s.configuredPolicy {
        case .value(let text):
            do { configured = .value(try IMAPolicy(parsing: text)) } catch { configured = .unreadable("does not parse: \(error)"); configuredError = "\(error)" }
        case .unreadable(let why): configured = .unreadable(why)
        case .absent: configured = .unreadable("no /etc/ima/ima-policy")
        }
        configuredPolicy = configured

        var view: PolicyView
        if !securityfsMounted {
            view = .noIMA("securityfs is not mounted at /sys/kernel/security (\(s.securityfs.value == nil ? s.securityfs.problem : "empty")): IMA's state cannot be read (a container, or a system without securityfs)")
        } else if s.imaDirectory.value == nil {
            view = .noIMA("no /sys/kernel/security/ima (\(s.imaDirectory.problem)): the kernel has no IMA (CONFIG_IMA), or it cannot be read")
        } else {
            switch s.kernelPolicy {
            case .value(let text):
                do {
                    view = .loaded(try IMAPolicy(parsing: Facts.normalizeKernelPolicy(text)))
                } catch {
                    view = .unparsable(source: "the kernel's policy (\(PolicyLoader.defaultPath))", error: "\(error)")
                }
            case .unreadable(let why):
                if let config, config.options["CONFIG_IMA_WRITE_POLICY"] != "y" {
                    view = .notLoaded(why)
                } else {
                    view = .undecidable(why, configured: configured)
                }
            case .absent:
                view = .loadedUnreadable(configured: configured)
            }
        }
        if case .loadedUnreadable = view, let configuredError {
            view = .unparsable(source: "the configured policy /etc/ima/ima-policy (the kernel's copy is not readable)", error: configuredError)
        }
        policy = view
    }

    /// The kernel prints rules with a trailing space; the parser reads them without it.
    static func normalizeKernelPolicy(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmedOfSpaces }.joined(separator: "\n")
    }

    /// The ima_policy= built-in policies (they add up; `|` separates several).
    func builtins(_ cmdline: KernelCommandLine) -> [String] {
        cmdline.values("ima_policy").flatMap { $0.split(separator: "|").map(String.init) }
    }

    /// The policy that decides, when known: the loaded one, else the configured one
    /// standing in for an unreadable loaded one.
    var effectivePolicy: IMAPolicy? {
        switch policy {
        case .loaded(let p): return p
        case .loadedUnreadable(let c), .undecidable(_, let c): return c?.value
        default: return nil
        }
    }

    /// Whether the policy the kernel runs appraises; nil when not known.
    var policyAppraises: Bool? {
        if let p = effectivePolicy { return PostureEvaluator.appraisesAnything(p) }
        if case .notLoaded = policy, let cmdline {
            return builtins(cmdline).contains { $0 == "appraise_tcb" || $0 == "secure_boot" }
        }
        return nil
    }

    /// Whether it appraises kernel modules; nil when not known.
    var policyAppraisesModules: Bool? {
        if let p = effectivePolicy { return PostureEvaluator.appraisesModules(p) }
        if case .notLoaded = policy, let cmdline {
            return builtins(cmdline).contains("secure_boot")
        }
        return nil
    }

    /// Keys in the EVM keyring according to /proc/keys.
    var evmKeyCount: Int? {
        let keys = ProcKey.parse(s.procKeys.value ?? "")
        return keys.first { $0.type == "keyring" && ($0.name == ".evm" || $0.name == "_evm") }?.linkedKeys
    }
}

extension String {
    /// Without the double quotes of a Kconfig string value.
    var replacingQuotes: String { filter { $0 != "\"" } }
}
