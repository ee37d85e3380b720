/// Every `key=value` (and bare option) a rule may carry after its action, in
/// the canonical order the renderer writes them. The order keeps the kernel's
/// order-sensitive checks happy: `digest_type=` before `appraise_type=`.
enum PolicyKeyword: String, CaseIterable, Hashable, Sendable {
    // Conditions.
    case function = "func"
    case mask
    case fsmagic
    case fsname
    case fsuuid
    case uid
    case euid
    case gid
    case egid
    case fowner
    case fgroup
    case objUser = "obj_user"
    case objRole = "obj_role"
    case objType = "obj_type"
    case subjUser = "subj_user"
    case subjRole = "subj_role"
    case subjType = "subj_type"
    case keyrings
    case label
    // Options.
    case digestType = "digest_type"
    case appraiseType = "appraise_type"
    case appraiseFlag = "appraise_flag"
    case appraiseAlgos = "appraise_algos"
    case pcr
    case template
    case permitDirectio = "permit_directio"

    /// Keywords that also take `<` and `>` (the id conditions).
    var allowsComparison: Bool {
        switch self {
        case .uid, .euid, .gid, .egid, .fowner, .fgroup: return true
        default: return false
        }
    }

    /// `permit_directio` is the only keyword written without a value.
    var takesValue: Bool { self != .permitDirectio }

    /// How the keyword is written when quoted in a message: `func=`, `permit_directio`.
    var spelled: String { takesValue ? rawValue + "=" : rawValue }

    init(_ field: IMALSMField) {
        self = PolicyKeyword(rawValue: field.rawValue)!
    }

    var lsmField: IMALSMField? { IMALSMField(rawValue: rawValue) }

    static let expectedList = "an action or one of "
        + allCases.map(\.spelled).joined(separator: ", ")
}
