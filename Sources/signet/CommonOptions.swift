#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// Where a private key's passphrase comes from: an environment variable or a
/// file, never the command line (argv is visible to every user via /proc).
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"),
            help: ArgumentHelp("Read the key passphrase from this file (first line).", valueName: "file"))
    var passphraseFile: String?

    /// The environment variable consulted when no file is given.
    static let environmentVariable = "SIGNET_KEY_PASSPHRASE"

    func passphrase(environment: String = PassphraseOptions.environmentVariable) throws -> String? {
        if let passphraseFile {
            let bytes = try FileBytes.read(passphraseFile, limit: 4096)
            let firstLine = bytes.split(separator: 0x0a, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            var line = Array(firstLine)
            if line.last == 0x0d { line.removeLast() }
            return String(decoding: line, as: UTF8.self)
        }
        if let value = getenv(environment) { return String(cString: value) }
        return nil
    }
}

/// Which files of the given trees to consider.
struct SelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Which files: 'all' regular files, or only executable 'code' (ELF executables and shared objects, files with an exec bit, kernel modules).", valueName: "all|code"))
    var select: FileSelection.Mode = .all

    @Option(name: .customLong("include"), help: ArgumentHelp("Only files whose path inside the tree matches this glob (repeatable; '*' also matches '/').", valueName: "glob"))
    var includes: [String] = []

    @Option(name: .customLong("exclude"), help: ArgumentHelp("Leave out files and directories matching this glob (repeatable).", valueName: "glob"))
    var excludes: [String] = []

    @Flag(help: "Enter directories on other filesystems (default: stay on each tree's filesystem).")
    var crossFilesystems = false

    var selection: FileSelection {
        FileSelection(mode: select, includes: includes, excludes: excludes, crossFilesystems: crossFilesystems)
    }
}

extension FileSelection.Mode: ExpressibleByArgument {}

/// Output and parallelism options.
struct RunOptions: ParsableArguments {
    // Optional so the help says "all cores" once, not also this machine's count.
    @Option(name: .customLong("jobs"), help: ArgumentHelp("Worker threads (default: all cores).", valueName: "n"))
    var jobsOption: Int?
    /// --jobs, or the number of online cores.
    var jobs: Int { jobsOption ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    @Flag(help: "Print one JSON object on stdout instead of text.")
    var json = false

    @Flag(help: "No progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        guard jobs >= 1 && jobs <= 1024 else { throw ValidationError("--jobs must be between 1 and 1024") }
    }
}

/// The signing key, its certificate and the digest: shared by `sign` and `image prepare`.
struct SigningKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Private signing key: a PEM file, or a PKCS#11 URI (pkcs11:token=…;object=…) whose PIN comes from SIGNET_PKCS11_PIN or --passphrase-file.", valueName: "file|uri")) var key: String
    @Option(help: ArgumentHelp("The key's IMA signing certificate; gives the keyid.", valueName: "file")) var cert: String
    // Optional so the help names the default (a CaseIterable enum's default would print as its raw value, 4).
    @Option(name: .customLong("hash"), help: ArgumentHelp("Digest algorithm (default: sha256).", valueName: "algorithm"))
    var hashOption: HashAlgorithm?
    var hashAlgorithm: HashAlgorithm { hashOption ?? .sha256 }
    @OptionGroup var passphrase: PassphraseOptions

    /// Loads key and certificate and checks them (validity, key usage, match)
    /// before any file is touched.
    func makePipeline(jobs: Int, selection: FileSelection.Mode,
                      _ configure: (inout SigningOptions) -> Void = { _ in }) throws -> SigningPipeline {
        try reportingErrors {
            let privateKey = try PrivateKey.load(path: key, passphrase: try passphrase.passphrase())
            let certificate = try Certificate.load(path: cert)
            var options = SigningOptions()
            options.hashAlgorithm = hashAlgorithm
            options.selection = selection
            options.jobs = jobs
            configure(&options)
            return try SigningPipeline(key: privateKey, certificate: certificate, options: options)
        }
    }
}
