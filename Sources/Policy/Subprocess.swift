#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// Runs a program to completion and captures its stdout and stderr together
/// (posix_spawn; no shell).
enum Subprocess {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `argv[0]` (an absolute path) with `argv`; nil output on spawn failure is an error.
    static func run(_ argv: [String], environment: [String]? = nil) throws -> Result {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw BootIntegrationError("cannot create a pipe: \(errnoDescription(errno))")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)

        let env = environment ?? defaultEnvironment
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        // The child gets default SIGINT/SIGTERM even while this process ignores them (to
        // clean up after the child): Ctrl-C stops the child, then the caller undoes its work.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, &cEnv)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw BootIntegrationError("cannot run \(argv[0]): \(errnoDescription(rc))")
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exit, output: String(decoding: output, as: UTF8.self))
    }

    /// What a program runs with unless told otherwise (also in an image's chroot: nothing of the host's).
    static let defaultEnvironment = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL=C", "HOME=/root", "TMPDIR=/tmp",
    ]

    /// For a program run on this machine (not in a chroot): the default with this process's
    /// TMPDIR, when set, so that its temporary files go where the caller wants them.
    static var hostEnvironment: [String] {
        guard let tmp = getenv("TMPDIR").map({ String(cString: $0) }), !tmp.isEmpty else { return defaultEnvironment }
        return defaultEnvironment.map { $0.hasPrefix("TMPDIR=") ? "TMPDIR=\(tmp)" : $0 }
    }

    /// A program on the host's PATH (or the usual sbin directories), or nil.
    static func find(_ name: String) -> String? {
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
