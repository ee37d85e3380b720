/// An LSM label condition: the subject's (process) or object's (file)
/// security-context field a rule compares against, e.g. `obj_type=bin_t`.
public enum IMALSMField: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case objUser = "obj_user"
    case objRole = "obj_role"
    case objType = "obj_type"
    case subjUser = "subj_user"
    case subjRole = "subj_role"
    case subjType = "subj_type"

    /// The keyword as written in a policy.
    public var keyword: String { rawValue }

    public var description: String { rawValue }
}
