extension IMAPolicyRule {
    /// The rule as one policy line: the action, then each condition and
    /// option in canonical order. Deterministic, and parses back to an equal rule.
    public func render() -> String {
        ([action.rawValue] + presentKeywords.map(renderedWord)).joined(separator: " ")
    }

    private func renderedWord(_ keyword: PolicyKeyword) -> String {
        let key = keyword.rawValue
        switch keyword {
        case .function: return "\(key)=\(hook!.name)"
        case .mask: return "\(key)=\(mask!)"
        case .fsmagic: return "\(key)=0x\(String(fsmagic!, radix: 16))"
        case .fsname: return "\(key)=\(fsname!)"
        case .fsuuid: return "\(key)=\(fsuuid!)"
        case .uid: return key + uid!.description
        case .euid: return key + euid!.description
        case .gid: return key + gid!.description
        case .egid: return key + egid!.description
        case .fowner: return key + fowner!.description
        case .fgroup: return key + fgroup!.description
        case .objUser, .objRole, .objType, .subjUser, .subjRole, .subjType:
            return "\(key)=\(lsmLabels[keyword.lsmField!]!)"
        case .keyrings: return "\(key)=\(keyrings!.joined(separator: "|"))"
        case .label: return "\(key)=\(labels!.joined(separator: "|"))"
        case .digestType: return "\(key)=verity"
        case .appraiseType: return "\(key)=\(appraiseType!.name)"
        case .appraiseFlag: return "\(key)=check_blacklist"
        case .appraiseAlgos:
            // Kernel enum order, as the kernel itself prints the list.
            let names = appraiseAlgorithms!.sorted { $0.rawValue < $1.rawValue }.map(\.name)
            return "\(key)=\(names.joined(separator: ","))"
        case .pcr: return "\(key)=\(pcr!)"
        case .template: return "\(key)=\(template!.name)"
        case .permitDirectio: return key
        }
    }
}
