import SignetCrypto

/// A kernel's build configuration, as Debian ships it at /boot/config-<version>.
public struct KernelConfig: Sendable {
    /// The kernel version from the file name (`6.12.12-amd64`).
    public var version: String
    /// CONFIG_* symbols and their values (`y`, `m`, a number or a quoted string).
    public var options: [String: String]

    /// Parses `CONFIG_X=y` lines; `# CONFIG_X is not set` and other comments are skipped.
    public init(version: String, text: String) {
        self.version = version
        var options = [String: String]()
        for line in text.split(separator: "\n") {
            guard line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") else { continue }
            options[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        self.options = options
    }

    /// Built in or as a module.
    public func has(_ symbol: String) -> Bool { options[symbol] == "y" || options[symbol] == "m" }

    /// Every boot/config-* of the image, by version.
    public static func inImage(_ root: ImageRoot) -> [KernelConfig] {
        root.list("boot").filter { $0.hasPrefix("config-") }.compactMap { name in
            guard let text = root.readText("boot/\(name)", limit: 16 << 20) else { return nil }
            return KernelConfig(version: String(name.dropFirst("config-".count)), text: text)
        }
    }
}

/// Whether the kernels of an image can use the certificates it will load: the
/// same check for `image prepare` (before anything is written) and `policy check`.
public enum CertificateSupport {
    /// The CONFIG_ symbol a key type needs for signature verification.
    public static func requiredSymbol(for algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .rsa: return "CONFIG_CRYPTO_RSA"
        case .ecdsa: return "CONFIG_CRYPTO_ECDSA"
        }
    }

    /// Problems with `certificates` under every kernel in `kernels`: none at all
    /// (a failure), a key type a kernel lacks (a failure naming the certificate,
    /// its key type and the kernel version), no kernel configuration (a warning:
    /// nothing could be checked), a trusted `.ima` keyring (a warning: the
    /// certificates must be signed by a key that kernel trusts).
    /// `appraises`: the policy appraises (then missing certificates or signature
    /// support brick the image; otherwise they are warnings).
    public static func problems(certificates: [Certificate], kernels: [KernelConfig], appraises: Bool = true) -> [ImageProblem] {
        var problems = [ImageProblem]()
        if certificates.isEmpty {
            problems.append(ImageProblem(.noCertificates, appraises ? .failure : .warning,
                "no certificate for the kernel's keyring: the image has none in /etc/keys/ima and none was given; every signed program would be refused"))
        }
        if kernels.isEmpty {
            problems.append(ImageProblem(.noKernelConfig, .warning,
                "the image has no kernel configuration (boot/config-*): cannot check that its kernel supports the certificates' key types"))
            return problems
        }
        for kernel in kernels {
            if appraises && (!kernel.has("CONFIG_INTEGRITY_ASYMMETRIC_KEYS") || !kernel.has("CONFIG_IMA_APPRAISE")) {
                problems.append(ImageProblem(.kernelLacksSignatures, .failure,
                    "kernel \(kernel.version) cannot verify IMA signatures (needs CONFIG_IMA_APPRAISE and CONFIG_INTEGRITY_ASYMMETRIC_KEYS; boot/config-\(kernel.version))"))
            }
            for cert in certificates {
                guard let algorithm = cert.keyAlgorithm else {
                    problems.append(ImageProblem(.kernelLacksKeyType, .failure,
                        "\(cert.source) ('\(cert.subject)') has a key type Signet does not know; kernel \(kernel.version) cannot be shown to support it"))
                    continue
                }
                let symbol = requiredSymbol(for: algorithm)
                if !kernel.has(symbol) {
                    problems.append(ImageProblem(.kernelLacksKeyType, .failure,
                        "\(cert.source) ('\(cert.subject)') has a \(algorithm) key, which kernel \(kernel.version) cannot verify: \(symbol) is not set in boot/config-\(kernel.version); use a key type it has (e.g. RSA) or a kernel with \(symbol)=y"))
                }
            }
            if kernel.options["CONFIG_INTEGRITY_TRUSTED_KEYRING"] == "y" {
                let issuers = Set(certificates.map(\.issuer)).sorted().map { "'\($0)'" }.joined(separator: ", ")
                problems.append(ImageProblem(.trustedKeyring, .warning,
                    "kernel \(kernel.version) has a trusted .ima keyring: it takes only certificates signed by a key in its built-in, secondary or machine (MOK) keyring; these are signed by \(issuers)"))
            }
        }
        return problems
    }
}
