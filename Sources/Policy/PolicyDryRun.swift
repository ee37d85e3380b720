#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Provenance
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
        /// Of those, how many no appraise rule requires to be appraised (an
        /// exemption decides, or no rule matches); files whose rule depends on
        /// something unknown offline are in neither count.
        public var notAppraised = 0
        /// Why files are not appraised: the deciding `dont_appraise` rule, or none
        /// (line nil), with how many files each.
        public var exemptions: [Exemption] = []
        /// The policy has appraise rules for BPRM_CHECK or MMAP_CHECK. False: it
        /// is measurement only (or appraises other hooks only) and refuses no program.
        public var enforcing = false
        /// Refusals that matter more than one file: the loader, libc, PID 1 and
        /// its libraries, systemd-udevd or systemd-journald would be refused, or
        /// the policy appraises (almost) none of the image's code (each a failure).
        public var problems: [ImageProblem] = []
        public var refused: [Finding] { findings.filter { $0.verdict == .refused } }
    }

    /// Files not appraised for one reason.
    public struct Exemption: Sendable, Equatable {
        /// The deciding dont_appraise rule's line; nil when no appraisal rule matches.
        public var ruleLine: Int?
        /// The rule as text, or a note that none matches.
        public var rule: String
        public var files: Int
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
        report.enforcing = !policy.codeAppraisalRules.isEmpty
        var exempted = [Int?: Int]()        // deciding dont_appraise line (nil: no rule) -> files
        var programs = [String: ELFDependencies]()
        for case let appraisal? in appraisals {
            let file = appraisal.file
            var hooks = [IMAHook]()
            if file.mode & 0o111 != 0 { hooks.append(.bprmCheck) }
            let isCode = isELF(file.paths[0])
            if isCode { hooks += [.mmapCheck, .mmapCheckReqprot] }
            guard !hooks.isEmpty else { continue }
            // What programs need, for finding the loader and libraries by use rather than by name.
            if isCode, file.mode & 0o111 != 0, let host = file.paths[0].utf8String,
               let elf = try? ELFReader.dependencies(path: host) {
                for path in file.imagePaths {
                    if let s = path.utf8String { programs[String(s.drop { $0 == "/" })] = elf }
                }
            }
            report.codeFiles += 1
            var refusedAt = [IMAHook]()
            var undecided: (String, Int)?
            var ruleLine = 0
            var isAppraised = false
            var exemptedBy: Int??
            for hook in hooks {
                let access = IMAAccess(hook: hook, fsmagic: target.fsmagic, fsname: target.fsname, fsuuid: target.fsuuid,
                                       uid: target.uid, euid: target.uid, gid: 0, egid: 0,
                                       fileOwner: file.uid, fileGroup: file.gid)
                let decided = policy.decidingRule(.appraisal, for: access)
                guard let (numbered, match) = decided, numbered.rule.action == .appraise else {
                    if hook != .mmapCheckReqprot, exemptedBy == nil { exemptedBy = .some(decided?.rule.line) }
                    continue
                }
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
            if isAppraised {
                report.appraised += 1
            } else if undecided == nil, let line = exemptedBy {
                report.notAppraised += 1
                exempted[line, default: 0] += 1
            }
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
        let lines = Dictionary(uniqueKeysWithValues: policy.numberedRules.map { ($0.line, $0.rule) })
        report.exemptions = exempted.map { line, files in
            Exemption(ruleLine: line, rule: line.flatMap { lines[$0]?.render() } ?? "no appraise rule matches", files: files)
        }.sorted { ($0.files, $1.ruleLine ?? 0) > ($1.files, $0.ruleLine ?? 0) }
        if let path = root.utf8String {
            report.problems = ImageSafety.criticalFileProblems(root: ImageRoot(path), refused: report.refused, programs: programs)
        }
        if let problem = appraisesNothingProblem(report) { report.problems.insert(problem, at: 0) }
        return report
    }

    /// `appraises-nothing`: the policy has appraise rules for code, yet more than
    /// half of the image's code files are exempt or match no appraise rule on
    /// this filesystem, so the kernel would refuse (almost) nothing.
    func appraisesNothingProblem(_ report: Report) -> ImageProblem? {
        guard report.enforcing, report.codeFiles > 0, report.notAppraised * 2 > report.codeFiles else { return nil }
        let filesystem = ["fsmagic=0x" + String(target.fsmagic, radix: 16), target.fsname.map { "fsname=\($0)" },
                          target.fsuuid.map { "fsuuid=\($0)" }].compactMap { $0 }.joined(separator: " ")
        let reasons = report.exemptions.map { e -> String in
            if let line = e.ruleLine { return "\(e.rule) (line \(line)) exempts \(e.files)" }
            let rules = policy.codeAppraisalRules.map { "line \($0.line) '\($0.rule.render())'" }.joined(separator: ", ")
            return "no appraise rule matches \(e.files) (\(rules) do not apply to them)"
        }
        return ImageProblem(.appraisesNothing, .failure,
            "the policy appraises programs, yet \(report.notAppraised) of the image's \(report.codeFiles) executable files would "
                + "run unappraised on this filesystem (\(filesystem)): " + reasons.joined(separator: "; ")
                + ". The kernel would refuse almost nothing: fix the policy's exemptions or conditions, or check with the "
                + "right --fs-type/--fsuuid")
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
