/// Knobs for ``PolicyGenerator``. The defaults render the shipped profiles.
public struct PolicyGeneratorOptions: Hashable, Sendable {
    /// Limit every appraise and measure rule to these filesystems (`fsuuid=`;
    /// one copy of each rule per UUID). Empty means all filesystems. Note that
    /// files elsewhere, tmpfs and memfd included, are then neither appraised
    /// nor measured.
    public var filesystemUUIDs: [IMAFilesystemUUID]
    /// More filesystems (by magic) to exempt with `dont_appraise` and
    /// `dont_measure`, after the built-in pseudo filesystems.
    public var extraExemptFilesystemMagics: [UInt64]
    /// Hash algorithms security.ima may use: added as `appraise_algos=` to
    /// appraise rules, with a `func=SETXATTR_CHECK` rule (Linux 5.15+). Empty
    /// means any algorithm the kernel supports.
    public var appraiseAlgorithms: Set<HashAlgorithm>
    /// `template=` for file measure rules; nil leaves the kernel's default
    /// (ima_template=, usually ima-ng). Key measurements always use ima-buf.
    public var measurementTemplate: IMATemplate?

    /// Options; every default matches the shipped profiles.
    public init(
        filesystemUUIDs: [IMAFilesystemUUID] = [],
        extraExemptFilesystemMagics: [UInt64] = [],
        appraiseAlgorithms: Set<HashAlgorithm> = [],
        measurementTemplate: IMATemplate? = .imaSig
    ) {
        self.filesystemUUIDs = filesystemUUIDs
        self.extraExemptFilesystemMagics = extraExemptFilesystemMagics
        self.appraiseAlgorithms = appraiseAlgorithms
        self.measurementTemplate = measurementTemplate
    }
}
