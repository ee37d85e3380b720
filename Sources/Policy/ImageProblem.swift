/// One reason an image is not safe to boot under its policy (a failure), or
/// something that could not be checked (a warning). Ids are stable: scripts
/// and documentation match on them.
public struct ImageProblem: Sendable, Equatable, CustomStringConvertible {
    /// A failure makes `policy check` exit 1; a warning does not.
    public enum Severity: String, Sendable {
        case failure = "FAIL"
        case warning = "WARNING"
    }

    /// The stable id printed in brackets.
    public enum ID: String, Sendable, CaseIterable {
        /// The image's policy appraises but nothing in the image loads the keys before it.
        case noKeyLoader = "no-key-loader"
        /// The boot integration is installed but an initramfs predates it or lacks it.
        case staleInitramfs = "stale-initramfs"
        /// An initramfs could not be listed (no lsinitramfs on this host, or it failed).
        case initramfsUnreadable = "initramfs-unreadable"
        /// The boot integration is installed but the image has no initramfs to carry it.
        case noInitramfs = "no-initramfs"
        /// An initramfs carries the key loader but the image's builder is not set up to
        /// add it again: the next rebuild (a kernel update) would drop it.
        case integrationNotInstalled = "integration-not-installed"
        /// No certificate for the kernel's keyring.
        case noCertificates = "no-certificates"
        /// A certificate whose key type the image's kernel cannot verify with.
        case kernelLacksKeyType = "kernel-lacks-key-type"
        /// A kernel that cannot verify IMA signatures at all.
        case kernelLacksSignatures = "kernel-lacks-signatures"
        /// The image has no kernel configuration (boot/config-*): key types not checked.
        case noKernelConfig = "no-kernel-config"
        /// The kernel has a trusted .ima keyring: certificates must chain to a key it trusts.
        case trustedKeyring = "trusted-keyring"
        /// The dynamic loader would be refused: no dynamically linked program starts.
        case loaderRefused = "loader-refused"
        /// libc would be refused: no dynamically linked program starts.
        case libcRefused = "libc-refused"
        /// PID 1 would be refused: the kernel panics.
        case initRefused = "init-refused"
        /// systemd-udevd or systemd-journald would be refused: the system does not come up.
        case systemdRefused = "systemd-refused"
        /// The image has no /sbin/init (or it points outside the image).
        case noInit = "no-init"
        /// The image's boot configuration sets a kernel parameter that stops enforcement
        /// (ima_appraise=log, bdev_allow_write_mounted=1, module.sig_enforce=0, lsm= without integrity).
        case bootParameterConflict = "boot-parameter-conflict"
        /// A library PID 1 needs (DT_NEEDED, transitively) would be refused: init cannot start.
        case initLibraryRefused = "init-library-refused"
        /// The policy means to enforce (appraise rules for BPRM_CHECK/MMAP_CHECK) but
        /// appraises none, or under half, of the image's executable files.
        case appraisesNothing = "appraises-nothing"
    }

    public var id: ID
    public var severity: Severity
    public var message: String
    /// The file in the image it is about (`/usr/lib/systemd/systemd`), when it is about one.
    public var path: String?

    public init(_ id: ID, _ severity: Severity, _ message: String, path: String? = nil) {
        self.id = id
        self.severity = severity
        self.message = message
        self.path = path
    }

    /// "FAIL [no-key-loader] …": one line per reason.
    public var description: String { "\(severity.rawValue) [\(id.rawValue)] \(message)" }
}
