/// What a node's measured boot must show before its IMA log is trusted:
/// the boot chains allowed (several at once, so a kernel update rolls out
/// without false failures), the kernel command-line rules and the Secure
/// Boot state and databases. Judged by `BootJudge` against the TCG event
/// log, after the log's replay has reached the quoted PCRs.
///
/// Codable (JSON), versioned like Signet's other reference files: `format`
/// names the kind of file and `version` its layout; `BootReference.decode`
/// refuses any other.
public struct BootReference: Codable, Sendable, Hashable {
    /// The `format` of a boot reference file.
    public static let formatName = "signet-boot-reference"
    /// The layout this code reads and writes.
    public static let currentVersion = 1

    /// Always `signet-boot-reference`.
    public var format: String
    /// Always 1 for now.
    public var version: Int
    /// The boot chains allowed; the boot must match one of them exactly
    /// (every PCR 4 application in order, and the PCR 9 files it lists).
    /// Empty allows no boot at all.
    public var chains: [BootChain]
    /// Rules on the kernel command line grub measured (PCR 8 `kernel_cmdline:`).
    public var commandLine: CommandLineRules
    /// Secure Boot state, databases and authorities (PCR 7).
    public var secureBoot: SecureBootRules
    /// Accept PCR 9 events whose digest no rule of the matched chain lists
    /// (files grub read besides the kernel, initrd and grub.cfg). Default
    /// false: grub measures every file it reads, and an unknown one (a
    /// sourced config, a module) can change what boots. PCR 9 paths are not
    /// covered by the digest, so a file is judged by its digest, whatever its name says.
    public var allowsUnlistedFiles: Bool

    public init(chains: [BootChain], commandLine: CommandLineRules = .signetDefault,
                secureBoot: SecureBootRules = SecureBootRules(), allowsUnlistedFiles: Bool = false) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.chains = chains
        self.commandLine = commandLine
        self.secureBoot = secureBoot
        self.allowsUnlistedFiles = allowsUnlistedFiles
    }
}

/// One allowed boot: the images run (PCR 4), the files grub read (PCR 9).
public struct BootChain: Codable, Sendable, Hashable {
    /// A name for people and for the verdict (`debian-6.12.118`).
    public var name: String
    /// The EFI applications in the order PCR 4 records them (shim, grub,
    /// the kernel's EFI stub), by Authenticode SHA-256. The log's
    /// EV_EFI_BOOT_SERVICES_APPLICATION events must be exactly these, in order.
    public var applications: [BootImage]
    /// Allowed initrd digests (SHA-256 of the file: grub's PCR 9 file event
    /// or the EFI stub's "Linux initrd" tag). nil: not judged; empty: the boot must load none.
    /// Non-empty: at least one initrd must be measured and every one must be listed.
    public var initrds: [BootDigest]?
    /// Allowed grub.cfg digests (PCR 9 file event). nil: not judged.
    public var grubConfigs: [BootDigest]?
    /// Allowed digests of the kernel file as grub reads it (SHA-256 of the
    /// whole file, PCR 9; not the Authenticode digest). nil: not judged.
    public var kernelFiles: [BootDigest]?
    /// Allowed digests of the EFI stub's "LOADED_IMAGE::LoadOptions" tag
    /// (PCR 9). nil: not judged (the command line is judged from PCR 8).
    public var loadOptions: [BootDigest]?
    /// Other files grub may read (fonts, grubenv), by SHA-256.
    public var otherFiles: [BootDigest]

    public init(name: String, applications: [BootImage], initrds: [BootDigest]? = nil, grubConfigs: [BootDigest]? = nil,
                kernelFiles: [BootDigest]? = nil, loadOptions: [BootDigest]? = nil, otherFiles: [BootDigest] = []) {
        self.name = name
        self.applications = applications
        self.initrds = initrds
        self.grubConfigs = grubConfigs
        self.kernelFiles = kernelFiles
        self.loadOptions = loadOptions
        self.otherFiles = otherFiles
    }

    /// The kernel: the application with the kernel role.
    public var kernel: BootImage? { applications.last(where: { $0.role == .kernel }) }
}

/// An EFI application of a chain.
public struct BootImage: Codable, Sendable, Hashable {
    /// What the image is; a mismatch on a kernel is reported as `kernel-not-allowed`.
    public enum Role: String, Codable, Sendable, Hashable {
        case shim, grub, kernel, other
    }

    /// For people (`shimx64.efi`, `vmlinuz-6.12.118+deb12-amd64`).
    public var name: String
    public var role: Role
    /// The Authenticode SHA-256 (`Authenticode.digest`), as PCR 4's sha256 bank records it.
    public var sha256: BootDigest

    public init(name: String, role: Role, sha256: BootDigest) {
        self.name = name
        self.role = role
        self.sha256 = sha256
    }
}
