#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI

/// `signet verifier ...` and `signet fleet ...`: the verifier service and the fleet CLI live in the
/// `signet-verifier` executable (package signet-verifier), so this binary links no database or
/// server code. These commands run it with the same arguments.
enum VerifierExecutable {
    static let name = "signet-verifier"

    static let notInstalled = "signet verifier/fleet commands are in the signet-verifier package; install it or run signet-verifier ..."

    /// The discussion of `signet COMMAND --help`.
    static func help(_ command: String) -> String {
        """
        This command is in the signet-verifier package: 'signet \(command) ARGS' runs \
        'signet-verifier \(command) ARGS' (found next to this signet, else on PATH). \
        Run 'signet-verifier --help' for its commands and options.
        """
    }

    /// Replaces this process with `signet-verifier`, passing `arguments` (starting with the
    /// subcommand's name) unchanged. Returns only by throwing: exit 2 when it is not installed.
    static func exec(_ arguments: [String]) throws -> Never {
        var candidates = [String]()
        if let own = ownDirectory() { candidates.append(own + "/" + name) }
        if let path = getenv("PATH") {
            for dir in String(cString: path).split(separator: ":", omittingEmptySubsequences: true) {
                candidates.append(String(dir) + "/" + name)
            }
        }
        for candidate in candidates where access(candidate, X_OK) == 0 {
            let argv = ([candidate] + arguments).map { strdup($0) } + [nil]
            execv(candidate, argv)
            let reason = String(cString: strerror(errno))
            Console.error("cannot run \(candidate): \(reason)")
            throw Exit.badInput
        }
        Console.error(notInstalled)
        throw Exit.badInput
    }

    /// The directory of the running executable (/proc/self/exe), if it can be read.
    static func ownDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buffer, 4096)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Runs `signet-verifier COMMAND ARGS`; `signet COMMAND` alone, `-h`, `--help` or `help` show
    /// `command`'s own help (which says where the command lives) instead.
    static func run(_ command: String, captured: [String], help: any ParsableCommand.Type) throws {
        if captured.isEmpty || ["-h", "--help", "help"].contains(captured[0]) { throw CleanExit.helpRequest(help) }
        try exec(passthrough(command, captured: captured))
    }

    /// The arguments after `signet`, unchanged, when they start with `command`; else `command`
    /// followed by what ArgumentParser captured.
    static func passthrough(_ command: String, captured: [String]) -> [String] {
        let argv = Array(CommandLine.arguments.dropFirst())
        return argv.first == command ? argv : [command] + captured
    }
}

/// What `signet verifier` and `signet fleet` take: everything, for `signet-verifier`.
struct PassthroughArguments: ParsableArguments {
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("Passed to signet-verifier unchanged.", valueName: "arguments"))
    var arguments: [String] = []
}

/// A `signet` subcommand that runs the `signet-verifier` subcommand of the same name.
protocol VerifierPackageCommand: ParsableCommand {
    var passthrough: PassthroughArguments { get }
}

extension VerifierPackageCommand {
    func run() throws {
        try VerifierExecutable.run(Self.configuration.commandName ?? "", captured: passthrough.arguments, help: Self.self)
    }
}

/// `signet verifier ...`: runs `signet-verifier verifier ...`.
struct VerifierCommand: VerifierPackageCommand {
    static let configuration = CommandConfiguration(
        commandName: "verifier",
        abstract: "The verifier service (runs signet-verifier; package signet-verifier).",
        discussion: VerifierExecutable.help("verifier"))
    @OptionGroup var passthrough: PassthroughArguments
}

/// `signet fleet ...`: runs `signet-verifier fleet ...`.
struct Fleet: VerifierPackageCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Operate a verifier service: fleet status and checks, references, groups (runs signet-verifier; package signet-verifier).",
        discussion: VerifierExecutable.help("fleet"))
    @OptionGroup var passthrough: PassthroughArguments
}
