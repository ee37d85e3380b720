#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Signing

/// Walks an image as the kernel would appraise it under a policy, and lists
/// every file that would be refused at exec or mmap(PROT_EXEC), and why —
/// so an operator knows before enforcing that the image will boot.
public struct PolicyDryRun: Sendable {
    /// The filesystem the image will be mounted as (the policy's fsmagic=/fsname=/fsuuid= see this).
    public struct Target: Sendable {
        public var fsmagic: UInt64
        public var fsname: String?
        public var fsuuid: IMAFilesystemUUID?
        /// The process ids the programs run with (uid=/euid= conditions).
        public var uid: UInt32

        public init(fsmagic: UInt64 = 0xef53, fsname: String? = "ext4", fsuuid: IMAFilesystemUUID? = nil, uid: UInt32 = 0) {
            self.fsmagic = fsmagic
            self.fsname = fsname
            self.fsuuid = fsuuid
            self.uid = uid
        }
    }

    /// One file the kernel would refuse, or whose fate the policy leaves open.
    public struct Finding: Sendable {
        public enum Verdict: Sendable, Equatable {
            case refused
            /// A rule with a condition not known offline (LSM label, fsuuid) decides.
            case undecided(String)
        }
        public var path: FilePath
        /// The hooks at which it would be refused (BPRM_CHECK for exec, MMAP_CHECK for mmap).
        public var hooks: [IMAHook]
        public var verdict: Verdict
        public var status: Appraisal.Status
        public var detail: String
        /// The policy line of the deciding appraise rule.
        public var ruleLine: Int
    }

    public struct Report: Sendable {
        public var findings: [Finding] = []
        /// Files that can be executed or mapped executable.
        public var codeFiles = 0
        /// Of those, how many a rule requires to be appraised.
        public var appraised = 0
        /// Of those, how many would be refused. Counts files as `codeFiles` does:
        /// a file with several hard links is one file (and several findings).
        public var refusedFiles = 0
        /// Refusals that matter more than one file: the loader, libc, PID 1,
        /// systemd-udevd or systemd-journald would be refused (each a failure).
        public var problems: [ImageProblem] = []
        public var refused: [Finding] { findings.filter { $0.verdict == .refused } }
    }

    public var policy: IMAPolicy
    public var trust: TrustStore
    public var target: Target
    public var jobs: Int

    public init(policy: IMAPolicy, trust: TrustStore, target: Target = Target(), jobs: Int) {
        self.policy = policy
        self.trust = trust
        self.target = target
        self.jobs = jobs
    }

    /// Runs the dry run over the image rooted at `root`.
    public func run(root: FilePath) -> Report {
        let walk = TreeWalker(selection: FileSelection(mode: .code)).walk([root])
        let appraisals = Appraiser(trust: trust, selection: .code, jobs: jobs).run(walk.files)
        var report = Report()
        for case let appraisal? in appraisals {
            let file = appraisal.file
            var hooks = [IMAHook]()
            if file.mode & 0o111 != 0 { hooks.append(.bprmCheck) }
            if isELF(file.paths[0]) { hooks += [.mmapCheck, .mmapCheckReqprot] }
            guard !hooks.isEmpty else { continue }
            report.codeFiles += 1
            var refusedAt = [IMAHook]()
            var undecided: (String, Int)?
            var ruleLine = 0
            var isAppraised = false
            for hook in hooks {
                let access = IMAAccess(hook: hook, fsmagic: target.fsmagic, fsname: target.fsname, fsuuid: target.fsuuid,
                                       uid: target.uid, euid: target.uid, gid: 0, egid: 0,
                                       fileOwner: file.uid, fileGroup: file.gid)
                guard let (numbered, match) = policy.decidingRule(.appraisal, for: access),
                      numbered.rule.action == .appraise else { continue }
                if case .undecided(let why) = match {
                    undecided = (why, numbered.line)
                    continue
                }
                isAppraised = true
                if !Self.passes(appraisal, rule: numbered.rule) {
                    refusedAt.append(hook == .mmapCheckReqprot ? .mmapCheck : hook)
                    ruleLine = numbered.line
                }
            }
            if isAppraised { report.appraised += 1 }
            let hooksSeen = refusedAt.reduce(into: [IMAHook]()) { if !$0.contains($1) { $0.append($1) } }
            if !hooksSeen.isEmpty { report.refusedFiles += 1 }
            for path in file.imagePaths {
                if !hooksSeen.isEmpty {
                    report.findings.append(Finding(path: path, hooks: hooksSeen, verdict: .refused, status: appraisal.status,
                                                   detail: appraisal.detail, ruleLine: ruleLine))
                } else if let (why, line) = undecided {
                    report.findings.append(Finding(path: path, hooks: [], verdict: .undecided(why), status: appraisal.status,
                                                   detail: appraisal.detail, ruleLine: line))
                }
            }
        }
        if let path = root.utf8String {
            report.problems = ImageSafety.criticalFileProblems(root: ImageRoot(path), refused: report.refused)
        }
        return report
    }

    /// Whether the kernel would accept the file under `rule`: imasig needs a
    /// valid signature; without appraise_type a matching hash also passes;
    /// appraise_algos limits the header's algorithm.
    static func passes(_ a: Appraisal, rule: IMAPolicyRule) -> Bool {
        if let allowed = rule.appraiseAlgorithms, let algorithm = a.hashAlgorithm, !allowed.contains(algorithm) { return false }
        switch rule.appraiseType {
        case .imasig?, .imasigOrModsig?:
            return a.status == .ok
        case .sigv3?:
            return false  // Signet does not verify v3 signatures yet: never claim a pass
        case nil:
            return a.status == .ok || (a.status == .digestOnly && a.hashMatches == true)
        }
    }

    private func isELF(_ path: FilePath) -> Bool {
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 64)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        return header.withUnsafeBytes { FileSelection.isELFCode(header: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
}
