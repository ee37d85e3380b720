/// Rules that need a newer kernel than the target: the kernel refuses the
/// whole policy write at the first rule it does not understand.
enum KernelSupportLint {
    static func findings(_ rules: [IMAPolicy.NumberedRule], kernel: KernelVersion) -> [PolicyFinding] {
        rules.flatMap { numbered in
            KernelFeature.required(by: numbered.rule)
                .filter { $0.minimumVersion > kernel }
                .map { feature in
                    PolicyFinding(
                        .kernelUnsupported, line: numbered.line,
                        message: "\(feature) needs Linux \(feature.minimumVersion) or later; Linux \(kernel) "
                            + "refuses the whole policy at this rule",
                        fix: "drop or rewrite line \(numbered.line) for this kernel, or target Linux \(feature.minimumVersion)+")
                }
        }
    }
}
