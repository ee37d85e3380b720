/// Whether two rules can match the same access, as far as the policy text
/// alone can tell.
enum RuleOverlap: Equatable {
    /// No access can match both.
    case disjoint
    /// Some real access matches both.
    case overlapping
    /// Cannot be decided from the text (e.g. fsmagic= against fsuuid=, or LSM labels).
    case unknown
}

/// Reasoning about which accesses a rule matches, following ima_match_rules.
/// Both questions answer conservatively: `covers` only says yes when it is
/// certain, `overlap` only says `.overlapping` when it is certain, so lint
/// findings built on them have no false positives.
extension IMAPolicyRule {
    /// True when every access `other` matches is matched by this rule too.
    func covers(_ other: IMAPolicyRule) -> Bool {
        if let hook {
            guard other.hook == hook else { return false }
        } else if other.hook?.requiresExplicitFunc == true || other.hook == .setxattrCheck {
            return false
        }
        if let mask, !mask.isImplied(by: other) { return false }
        if let fsmagic, other.fsmagic != fsmagic { return false }
        if let fsname, other.fsname != fsname { return false }
        if let fsuuid, other.fsuuid != fsuuid { return false }
        for (keyword, condition) in idConditions {
            guard let mine = condition.matchingIDs else { return false }
            guard let theirs = other.idCondition(keyword) else { return false }
            if let range = theirs.matchingIDs, !(mine.contains(range.lowerBound) && mine.contains(range.upperBound)) {
                return false
            }
        }
        for (field, label) in lsmLabels where other.lsmLabels[field] != label { return false }
        if let keyrings {
            guard let theirs = other.keyrings, Set(theirs).isSubset(of: keyrings) else { return false }
        }
        if let labels {
            guard let theirs = other.labels, Set(theirs).isSubset(of: labels) else { return false }
        }
        return true
    }

    /// Whether some access matches both rules.
    func overlap(with other: IMAPolicyRule) -> RuleOverlap {
        var unknown = false
        // func=: a rule without func never matches the buffer hooks KEY_CHECK and CRITICAL_DATA.
        switch (hook, other.hook) {
        case (nil, nil): break
        case (let one?, nil), (nil, let one?):
            if one.requiresExplicitFunc || one == .setxattrCheck { return .disjoint }
        case (let a?, let b?):
            if a != b { return .disjoint }
        }
        switch Self.maskOverlap(mask, other.mask, hook: hook ?? other.hook) {
        case .disjoint: return .disjoint
        case .unknown: unknown = true
        case .overlapping: break
        }
        switch filesystemOverlap(with: other) {
        case .disjoint: return .disjoint
        case .unknown: unknown = true
        case .overlapping: break
        }
        for (keyword, condition) in idConditions {
            guard let mine = condition.matchingIDs else { return .disjoint }
            if let theirs = other.idCondition(keyword) {
                guard let range = theirs.matchingIDs, mine.overlaps(range) else { return .disjoint }
            }
        }
        if other.idConditions.contains(where: { $0.1.matchingIDs == nil }) { return .disjoint }
        for (field, label) in lsmLabels {
            if let theirs = other.lsmLabels[field], theirs != label { return .disjoint }
        }
        if !lsmLabels.isEmpty, !other.lsmLabels.isEmpty, lsmLabels != other.lsmLabels {
            unknown = true // the LSM policy decides whether such labels can coexist
        }
        if let keyrings, let theirs = other.keyrings, Set(keyrings).isDisjoint(with: theirs) { return .disjoint }
        if let labels, let theirs = other.labels, Set(labels).isDisjoint(with: theirs) { return .disjoint }
        return unknown ? .unknown : .overlapping
    }

    /// True when no access can match: an exec hook with a mask other than
    /// MAY_EXEC, or an id condition no id satisfies (`uid<0`).
    var canNeverMatch: Bool {
        if let hook, hook.alwaysRequestsExec, let mask, !mask.accepts([.exec]) { return true }
        return idConditions.contains { $0.1.matchingIDs == nil }
    }

    /// This rule as it applies to one hook, or nil when it cannot match that hook.
    func restricted(to target: IMAHook) -> IMAPolicyRule? {
        if canNeverMatch { return nil }
        if let hook {
            guard hook == target else { return nil }
        } else if target.requiresExplicitFunc || target == .setxattrCheck {
            return nil
        }
        if target.alwaysRequestsExec, let mask, !mask.accepts([.exec]) { return nil }
        var narrowed = self
        narrowed.hook = target
        return narrowed
    }

    func idCondition(_ keyword: PolicyKeyword) -> IMAPolicyIDMatch? {
        idConditions.first { $0.0 == keyword }?.1
    }

    var hasFilesystemCondition: Bool { fsmagic != nil || fsname != nil || fsuuid != nil }
    var hasIDCondition: Bool { !idConditions.isEmpty }
    var hasLSMCondition: Bool { !lsmLabels.isEmpty }

    private func filesystemOverlap(with other: IMAPolicyRule) -> RuleOverlap {
        if let a = fsmagic, let b = other.fsmagic, a != b { return .disjoint }
        if let a = fsname, let b = other.fsname, a != b { return .disjoint }
        if let a = fsuuid, let b = other.fsuuid, a != b { return .disjoint }
        // A condition on one field against a different field of the other rule
        // (fsmagic vs fsname, fsuuid vs fsmagic): which filesystem carries which
        // name, magic or UUID is not in the text.
        let mine = [fsmagic != nil, fsname != nil, fsuuid != nil]
        let theirs = [other.fsmagic != nil, other.fsname != nil, other.fsuuid != nil]
        let onlyMine = zip(mine, theirs).contains { $0 && !$1 }
        let onlyTheirs = zip(mine, theirs).contains { !$0 && $1 }
        return onlyMine && onlyTheirs ? .unknown : .overlapping
    }

    /// The access masks the kernel can pass for a hook (ima_main.c): exactly
    /// MAY_EXEC for the exec hooks; for FILE_CHECK the open mode, a few of
    /// which are listed; nil when not known here.
    private static func knownRequests(for hook: IMAHook?) -> (requests: [Set<IMAPolicyMask.Permission>], complete: Bool)? {
        let fileOpens: [Set<IMAPolicyMask.Permission>] = [[.read], [.write], [.exec], [.read, .write], [.write, .append]]
        switch hook {
        case let hook? where hook.alwaysRequestsExec: return ([[.exec]], true)
        case .fileCheck?: return (fileOpens, false)
        case nil: return (fileOpens, false)
        default: return nil
        }
    }

    private static func maskOverlap(_ a: IMAPolicyMask?, _ b: IMAPolicyMask?, hook: IMAHook?) -> RuleOverlap {
        guard let known = knownRequests(for: hook) else {
            return a == nil && b == nil || a == b ? .overlapping : .unknown
        }
        let both = known.requests.contains { request in
            (a?.accepts(request) ?? true) && (b?.accepts(request) ?? true)
        }
        if both { return .overlapping }
        return known.complete ? .disjoint : .unknown
    }
}

extension IMAPolicyMask {
    /// Whether every access `rule` matches passes this mask too.
    func isImplied(by rule: IMAPolicyRule) -> Bool {
        if let theirs = rule.mask {
            if theirs == self { return true }
            if isInclusive, !theirs.isInclusive, theirs.permission == permission { return true }
        }
        // The exec hooks always pass exactly MAY_EXEC.
        if let hook = rule.hook, hook.alwaysRequestsExec, permission == .exec { return true }
        return false
    }
}
