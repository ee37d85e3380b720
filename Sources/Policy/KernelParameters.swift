import IMAFormat

/// The kernel command-line parameters enforcement depends on, and where an
/// image keeps them. `image prepare` writes them into the image's boot
/// configuration; `signet posture` checks them on the running node.
///
/// Why each one: an IMA policy only governs what goes through the VFS and the
/// module loader. Root still has two doors around it on a stock Debian kernel:
/// writing a mounted filesystem's blocks through its block device (the next
/// exec runs the changed program from the page cache or disk, unappraised),
/// and init_module(2) with a module buffer (no file for IMA to appraise).
public enum KernelParameters {
    /// One parameter a policy needs, with the reason printed next to it.
    public struct Requirement: Sendable, Equatable {
        public var name: String
        public var value: String
        public var reason: String
        /// `name=value`, as on the command line.
        public var text: String { "\(name)=\(value)" }
    }

    /// The GRUB configuration snippet `image prepare` writes (grub-mkconfig sources it).
    public static let grubSnippet = "etc/default/grub.d/signet.cfg"
    /// The command line of systemd-boot, kernel-install and unified kernel images.
    public static let kernelCmdline = "etc/kernel/cmdline"

    /// What a policy needs on the command line: nothing for a policy that
    /// appraises nothing; `bdev_allow_write_mounted=0` for any appraising
    /// policy; `module.sig_enforce=1` when it appraises MODULE_CHECK.
    public static func required(for policy: IMAPolicy) -> [Requirement] {
        guard policy.rules.contains(where: { $0.action == .appraise }) else { return [] }
        var list = [Requirement(
            name: "bdev_allow_write_mounted", value: "0",
            reason: "refuse writes to the block device of a mounted filesystem: root could otherwise rewrite a signed program's blocks under IMA (kernel 6.8 and later)")]
        if policy.rules.contains(where: { $0.action == .appraise && $0.hook == .moduleCheck }) {
            list.append(Requirement(
                name: "module.sig_enforce", value: "1",
                reason: "modules loaded from a buffer (init_module(2): kmod before version 31 loads every compressed .ko.xz that way) carry no file for IMA to appraise; with this the kernel checks their own signature, without it IMA refuses them all"))
        }
        return list
    }

    /// The text of ``grubSnippet`` for these requirements.
    public static func grubSnippetText(_ requirements: [Requirement]) -> String {
        var text = "# Written by signet image prepare: kernel parameters IMA enforcement depends on.\n"
        text += "# `signet posture` on the node checks that the running kernel got them.\n"
        for r in requirements { text += "#   \(r.text): \(r.reason)\n" }
        text += "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX \(requirements.map(\.text).joined(separator: " "))\"\n"
        return text
    }

    /// `existing` (the content of etc/kernel/cmdline) with every requirement
    /// set: a parameter already there with another value is replaced, a missing
    /// one appended. Nil when nothing changes.
    public static func updatedKernelCmdline(_ existing: String, _ requirements: [Requirement]) -> String? {
        var words = existing.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        var changed = false
        for r in requirements {
            let matching = words.indices.filter { parameterName(words[$0]) == r.name }
            if matching.count == 1 && words[matching[0]] == r.text { continue }
            for i in matching.reversed() { words.remove(at: i) }
            words.append(r.text)
            changed = true
        }
        return changed ? words.joined(separator: " ") + "\n" : nil
    }

    /// Settings in the image's boot configuration that would stop the kernel
    /// from enforcing: `ima_appraise=` other than enforce, a parameter set
    /// against a requirement (`bdev_allow_write_mounted=1`, `module.sig_enforce=0`),
    /// `lsm=` without integrity, `integrity=0`. Each names the file and line.
    /// Reads /etc/default/grub, /etc/default/grub.d/*.cfg (but Signet's own) and
    /// /etc/kernel/cmdline.
    public static func conflicts(in root: ImageRoot, requirements: [Requirement]) -> [ImageProblem] {
        var sources = [(path: String, text: String)]()
        if let t = root.readText("etc/default/grub") { sources.append(("etc/default/grub", t)) }
        for name in root.list("etc/default/grub.d").sorted() where name.hasSuffix(".cfg") && "etc/default/grub.d/\(name)" != grubSnippet {
            if let t = root.readText("etc/default/grub.d/\(name)") { sources.append(("etc/default/grub.d/\(name)", t)) }
        }
        var problems = [ImageProblem]()
        for (path, text) in sources {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.drop { $0 == " " || $0 == "\t" }
                guard !trimmed.hasPrefix("#"), trimmed.contains("GRUB_CMDLINE_LINUX") else { continue }
                problems += conflicts(inWords: words(of: trimmed), at: "/\(path) line \(number + 1)", requirements: requirements)
            }
        }
        if let text = root.readText(kernelCmdline) {
            problems += conflicts(inWords: words(of: Substring(text)), at: "/\(kernelCmdline)", requirements: [])
        }
        return problems
    }

    /// The parameter name of a command-line word (`ima_appraise` of `ima_appraise=log`).
    static func parameterName(_ word: String) -> String {
        String(word.prefix { $0 != "=" })
    }

    private static func words(of text: Substring) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\"" || $0 == "'" }).map(String.init)
    }

    private static func conflicts(inWords words: [String], at place: String, requirements: [Requirement]) -> [ImageProblem] {
        var problems = [ImageProblem]()
        for word in words {
            // `GRUB_CMDLINE_LINUX=ima_appraise=log`: the first word carries the variable name.
            let w = word.hasPrefix("GRUB_CMDLINE_LINUX") ? String(word.drop { $0 != "=" }.dropFirst()) : word
            guard let eq = w.firstIndex(of: "=") else { continue }
            let name = String(w[..<eq]), value = String(w[w.index(after: eq)...])
            let why: String?
            switch name {
            case "ima_appraise" where value != "enforce":
                why = "ima_appraise=\(value) makes the kernel \(value == "log" ? "log refusals but run every unsigned program" : value == "fix" ? "rewrite security.ima instead of refusing" : "skip appraisal"): remove it"
            case "lsm" where !value.split(separator: ",").contains("integrity"):
                why = "lsm=\(value) leaves out 'integrity': IMA and EVM do not run; add integrity to the list or remove lsm="
            case "integrity" where value == "0":
                why = "integrity=0 turns the integrity subsystem off: remove it"
            default:
                if let r = requirements.first(where: { $0.name == name }), !sameSetting(value, r.value) {
                    why = "\(w) undoes \(r.text) (\(r.reason)): remove it"
                } else {
                    why = nil
                }
            }
            if let why {
                problems.append(ImageProblem(.bootParameterConflict, .failure, "\(place): \(why)"))
            }
        }
        return problems
    }

    /// `1`, `y` and `Y` are the same setting to the kernel's boolean parsing; so are `0`, `n`, `N`.
    private static func sameSetting(_ a: String, _ b: String) -> Bool {
        func normalized(_ s: String) -> String {
            switch s { case "1", "y", "Y", "yes", "on": return "1"; case "0", "n", "N", "no", "off": return "0"; default: return s }
        }
        return normalized(a) == normalized(b)
    }
}
