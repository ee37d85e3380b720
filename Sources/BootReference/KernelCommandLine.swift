/// A kernel command line split the way the kernel splits it
/// (`next_arg` in lib/cmdline.c / kernel/params.c): words separated by
/// spaces, double quotes group spaces into a word and are dropped around a
/// value (`lsm="integrity,selinux"`) or a whole word; `--` ends the kernel's
/// parameters (the rest goes to init). Names compare with `-` and `_` equal
/// (`parameq`), so names are kept normalized to `_`.
public struct KernelCommandLine: Hashable, Sendable {
    /// One word: its name (normalized) and value (nil for a bare word like `ro`).
    public struct Parameter: Hashable, Sendable {
        /// The name with every `-` turned into `_`.
        public var name: String
        /// The name as written.
        public var written: String
        public var value: String?

        /// `name=value` as written, or the bare name.
        public var text: String { value.map { "\(written)=\($0)" } ?? written }
    }

    /// The kernel's parameters, in order (repeats kept).
    public let parameters: [Parameter]
    /// Words after `--`: init's arguments.
    public let initArguments: [String]
    /// The image path grub puts first (`/boot/vmlinuz-…`), which the kernel sees as `BOOT_IMAGE=`.
    public let bootImage: String?

    /// Splits `text`. With `leadingImagePath` (grub's `kernel_cmdline:`
    /// measurement, which starts with the kernel's path) the first word is
    /// taken as `BOOT_IMAGE`'s value unless it already is `BOOT_IMAGE=…`.
    public init(_ text: String, leadingImagePath: Bool = false) {
        var words = Self.split(text)
        var bootImage: String?
        if leadingImagePath, let first = words.first, first.value == nil || first.name != "BOOT_IMAGE" {
            bootImage = first.text
            words.removeFirst()
        }
        if let i = words.firstIndex(where: { $0.written == "--" && $0.value == nil }) {
            initArguments = words[(i + 1)...].map(\.text)
            words.removeSubrange(i...)
        } else {
            initArguments = []
        }
        if bootImage == nil, let b = words.last(where: { $0.name == "BOOT_IMAGE" }) { bootImage = b.value }
        parameters = words
        self.bootImage = bootImage
    }

    /// The value the kernel keeps for `name`: the last one written (nil if absent or bare).
    public func lastValue(_ name: String) -> String? {
        let n = Self.normalize(name)
        return parameters.last(where: { $0.name == n })?.value
    }

    /// Every occurrence of `name`.
    public func occurrences(_ name: String) -> [Parameter] {
        let n = Self.normalize(name)
        return parameters.filter { $0.name == n }
    }

    /// `-` and `_` are the same character in a parameter name.
    public static func normalize(_ name: String) -> String {
        String(name.map { $0 == "-" ? "_" : $0 })
    }

    /// The kernel's `next_arg`, over the whole line.
    static func split(_ text: String) -> [Parameter] {
        let chars = Array(text.unicodeScalars)
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" }
        var out = [Parameter]()
        var i = 0
        while i < chars.count, isSpace(chars[i]) { i += 1 }
        while i < chars.count {
            var start = i
            var inQuote = false, quoted = false
            if chars[start] == "\"" { start += 1; inQuote = true; quoted = true }
            var j = start
            var equals: Int?
            while j < chars.count {
                if isSpace(chars[j]) && !inQuote { break }
                if equals == nil, chars[j] == "=" { equals = j }
                if chars[j] == "\"" { inQuote.toggle() }
                j += 1
            }
            var end = j  // exclusive end of the word
            var name: String
            var value: String?
            if let eq = equals {
                name = String(String.UnicodeScalarView(chars[start..<eq]))
                var vStart = eq + 1
                if vStart < end, chars[vStart] == "\"" {
                    vStart += 1
                    if end > vStart, chars[end - 1] == "\"" { end -= 1 }
                } else if quoted, end > vStart, chars[end - 1] == "\"" {
                    end -= 1
                }
                value = vStart <= end ? String(String.UnicodeScalarView(chars[vStart..<end])) : ""
            } else {
                if quoted, end > start, chars[end - 1] == "\"" { end -= 1 }
                name = String(String.UnicodeScalarView(chars[start..<max(start, end)]))
            }
            if !(name.isEmpty && value == nil) {
                out.append(Parameter(name: normalize(name), written: name, value: value))
            }
            i = j < chars.count ? j + 1 : j
            while i < chars.count, isSpace(chars[i]) { i += 1 }
        }
        return out
    }
}

/// Rules on the kernel command line. Names compare as the kernel compares
/// them (`-` = `_`). Required values are checked on the last occurrence
/// (the kernel keeps the last value); forbidden and allowed values on every
/// occurrence, since some parameters accumulate (`ima_policy=`).
public struct CommandLineRules: Codable, Sendable, Hashable {
    /// Parameters that must be present; the last occurrence must have this
    /// value (booleans compare as the kernel reads them: 1/y/Y/on/yes, 0/n/N/off/no).
    public var required: [String: String]
    /// Parameters that must not appear at all, whatever their value (`init`).
    public var forbidden: [String]
    /// Values a parameter must never have (`ima_appraise`: log, fix, off).
    public var forbiddenValues: [String: [String]]
    /// When the parameter appears, each `|`- or `,`-separated part of every
    /// value must be one of these (`ima_policy`: the kernel's built-in policy names).
    public var allowedValues: [String: [String]]
    /// When the parameter appears, its last value (a comma list) must
    /// contain these (`lsm` must keep `integrity`).
    public var listMustContain: [String: [String]]
    /// The command line must be measured (a PCR 8 `kernel_cmdline:` event).
    /// Default true whenever any rule exists; a direct-kernel boot has none.
    public var mustBeMeasured: Bool

    public init(required: [String: String] = [:], forbidden: [String] = [], forbiddenValues: [String: [String]] = [:],
                allowedValues: [String: [String]] = [:], listMustContain: [String: [String]] = [:], mustBeMeasured: Bool = true) {
        self.required = required
        self.forbidden = forbidden
        self.forbiddenValues = forbiddenValues
        self.allowedValues = allowedValues
        self.listMustContain = listMustContain
        self.mustBeMeasured = mustBeMeasured
    }

    /// The parameters `signet image prepare` writes (Sources/Policy/KernelParameters.swift,
    /// `KernelParameters.required`): `bdev_allow_write_mounted=0` for any appraising policy,
    /// `module.sig_enforce=1` when it appraises MODULE_CHECK. Mirrored here, not imported:
    /// BootReference stays pure and does not link Policy. Keep the two lists in step.
    public static let imagePrepareParameters: [String: String] = [
        "bdev_allow_write_mounted": "0",
        "module.sig_enforce": "1",
    ]

    /// Signet's defaults: the image-prepare parameters required; `init=`
    /// forbidden (it replaces the program the image starts); IMA appraisal
    /// and EVM never in log/fix/off mode; `integrity=0` and `ima=off` refused;
    /// `ima_policy=` limited to the kernel's built-in policies; `lsm=` must keep `integrity`.
    public static let signetDefault = CommandLineRules(
        required: imagePrepareParameters,
        forbidden: ["init"],
        forbiddenValues: ["ima_appraise": ["log", "fix", "off"], "evm": ["fix"], "integrity": ["0"], "ima": ["off"]],
        allowedValues: ["ima_policy": ["tcb", "appraise_tcb", "secure_boot", "critical_data", "fail_securely"]],
        listMustContain: ["lsm": ["integrity"]])

    /// The kernel's boolean reading of a value (`kstrtobool`), else the value itself.
    static func normalizedSetting(_ value: String) -> String {
        switch value {
        case "1", "y", "Y", "yes", "on", "ON", "Yes": return "1"
        case "0", "n", "N", "no", "off", "OFF", "No": return "0"
        default: return value
        }
    }

    /// What is wrong with `line`: (parameter, what was found, what was expected, missing?) in a stable order.
    func violations(_ line: KernelCommandLine) -> [CommandLineViolation] {
        var out = [CommandLineViolation]()
        for (name, want) in required.sorted(by: { $0.key < $1.key }) {
            let all = line.occurrences(name)
            guard let last = all.last else {
                out.append(CommandLineViolation(parameter: name, found: nil, expected: "\(name)=\(want)", missing: true))
                continue
            }
            if Self.normalizedSetting(last.value ?? "") != Self.normalizedSetting(want) {
                out.append(CommandLineViolation(parameter: name, found: last.text,
                                                expected: "\(name)=\(want) (the last occurrence counts)", missing: false))
            }
        }
        for name in forbidden.sorted() {
            for p in line.occurrences(name) {
                out.append(CommandLineViolation(parameter: name, found: p.text, expected: "no \(name)= parameter", missing: false))
            }
        }
        for (name, bad) in forbiddenValues.sorted(by: { $0.key < $1.key }) {
            let badSet = Set(bad.map(Self.normalizedSetting))
            for p in line.occurrences(name) where badSet.contains(Self.normalizedSetting(p.value ?? "")) {
                out.append(CommandLineViolation(parameter: name, found: p.text,
                                                expected: "\(name) not " + bad.joined(separator: "/"), missing: false))
            }
        }
        for (name, allowed) in allowedValues.sorted(by: { $0.key < $1.key }) {
            for p in line.occurrences(name) {
                let parts = (p.value ?? "").split(whereSeparator: { $0 == "|" || $0 == "," }).map(String.init)
                if parts.isEmpty || parts.contains(where: { !allowed.contains($0) }) {
                    out.append(CommandLineViolation(parameter: name, found: p.text,
                                                    expected: "\(name) from " + allowed.joined(separator: "|"), missing: false))
                }
            }
        }
        for (name, members) in listMustContain.sorted(by: { $0.key < $1.key }) {
            guard let last = line.occurrences(name).last else { continue }
            let list = (last.value ?? "").split(separator: ",").map(String.init)
            let absent = members.filter { !list.contains($0) }
            if !absent.isEmpty {
                out.append(CommandLineViolation(parameter: name, found: last.text,
                                                expected: "\(name) listing " + members.joined(separator: ","), missing: false))
            }
        }
        return out
    }

    /// True when no rule exists.
    var isEmpty: Bool {
        required.isEmpty && forbidden.isEmpty && forbiddenValues.isEmpty && allowedValues.isEmpty && listMustContain.isEmpty
    }
}

struct CommandLineViolation: Hashable, Sendable {
    var parameter: String
    var found: String?
    var expected: String
    var missing: Bool
}
