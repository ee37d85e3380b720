/// Reads one policy line the way ima_parse_rule does: word by word, left to
/// right, refusing what the kernel refuses (including its order-sensitive
/// checks), then applying the kernel's whole-rule checks.
struct PolicyRuleParser {
    private let line: Int
    private var rule = IMAPolicyRule(action: .measure)
    private var action: (IMAPolicyAction, PolicyToken)?
    private var seen: [PolicyKeyword: PolicyToken] = [:]

    private init(line: Int) { self.line = line }

    /// The rule on a line, or nil for a blank line or a comment.
    static func parseRule(_ scalars: [Unicode.Scalar], line: Int) throws(PolicyError) -> IMAPolicyRule? {
        if case .rule(let rule) = try parseLine(scalars[...], line: line) { return rule }
        return nil
    }

    /// Classifies and parses one line (without its newline).
    static func parseLine(_ scalars: ArraySlice<Unicode.Scalar>, line: Int) throws(PolicyError) -> IMAPolicy.Entry {
        let body = scalars.drop { $0 == " " || $0 == "\t" }
        if body.first == "#" {
            var text = String.UnicodeScalarView()
            text.append(contentsOf: body.dropFirst())
            return .comment(String(text))
        }
        let tokens = try PolicyToken.split(scalars, lineNumber: line)
        guard let first = tokens.first else { return .blank }
        var parser = PolicyRuleParser(line: line)
        for (index, token) in tokens.enumerated() {
            try parser.consume(token, isFirst: index == 0)
        }
        return .rule(try parser.finish(first: first))
    }

    // MARK: Words

    private mutating func consume(_ token: PolicyToken, isFirst: Bool) throws(PolicyError) {
        let text = token.text
        if text.hasPrefix("#") {
            throw PolicyError(code: .inlineComment, line: line, column: token.column, token: text,
                              reason: "'#' after a rule: the kernel only accepts comments on their own line",
                              expected: "the comment on a separate line starting with #")
        }
        guard let opIndex = text.firstIndex(where: { $0 == "=" || $0 == "<" || $0 == ">" }) else {
            try consumeWord(token, isFirst: isFirst)
            return
        }
        let key = String(text[..<opIndex])
        let op = text[opIndex]
        let value = String(text[text.index(after: opIndex)...])
        guard let keyword = PolicyKeyword(rawValue: key), keyword.takesValue else {
            if IMAPolicyAction(rawValue: key) != nil || key == PolicyKeyword.permitDirectio.rawValue {
                throw PolicyError(code: .unexpectedValue, line: line, column: token.column, token: text,
                                  reason: "'\(key)' takes no value", expected: "'\(key)' on its own")
            }
            throw PolicyError.unknownKeyword(key, token: text, line: line, column: token.column)
        }
        if op != "=", !keyword.allowsComparison {
            throw PolicyError(code: .invalidOperator, line: line, column: token.column + key.unicodeScalars.count,
                              token: text, reason: "\(key) takes '=', not '\(op)'", expected: "\(key)=value")
        }
        if value.isEmpty {
            throw PolicyError(code: .emptyValue, line: line, column: token.column, token: text,
                              reason: "\(keyword.spelled) has an empty value", expected: "\(keyword.spelled)value")
        }
        try checkNotSeen(keyword, token)
        if keyword == .template, action == nil {
            throw PolicyError(code: .wrongOrder, line: line, column: token.column, token: text,
                              reason: "template= before the action: the kernel checks template= against the action while reading",
                              expected: "the action (measure) first")
        }
        let valueColumn = token.column + key.unicodeScalars.count + 1
        try set(keyword, comparison: IMAPolicyIDMatch.Comparison(rawValue: String(op))!, value: value, column: valueColumn)
        seen[keyword] = token
    }

    private mutating func consumeWord(_ token: PolicyToken, isFirst: Bool) throws(PolicyError) {
        let text = token.text
        if let newAction = IMAPolicyAction(rawValue: text) {
            if let (first, _) = action {
                throw PolicyError.multipleActions(text, first: first, line: line, column: token.column)
            }
            action = (newAction, token)
            return
        }
        if let keyword = PolicyKeyword(rawValue: text) {
            if !keyword.takesValue {
                try checkNotSeen(keyword, token)
                rule.permitsDirectIO = true
                seen[keyword] = token
                return
            }
            throw PolicyError(code: .missingValue, line: line, column: token.column, token: text,
                              reason: "\(text) needs a value", expected: "\(keyword.spelled)value")
        }
        if isFirst { throw PolicyError.unknownAction(text, line: line, column: token.column) }
        throw PolicyError.unknownKeyword(text, token: text, line: line, column: token.column)
    }

    private func checkNotSeen(_ keyword: PolicyKeyword, _ token: PolicyToken) throws(PolicyError) {
        if let previous = seen[keyword] {
            throw PolicyError.duplicate(keyword, token: token.text, firstColumn: previous.column,
                                        line: line, column: token.column)
        }
        let sharedSlots: [PolicyKeyword: PolicyKeyword] = [.uid: .euid, .euid: .uid, .gid: .egid, .egid: .gid]
        if let other = sharedSlots[keyword], seen[other] != nil {
            throw PolicyError.conflicting(keyword, with: other, token: token.text, line: line, column: token.column)
        }
    }

    // MARK: Values

    private mutating func set(_ keyword: PolicyKeyword, comparison: IMAPolicyIDMatch.Comparison,
                              value: String, column: Int) throws(PolicyError) {
        switch keyword {
        case .function:
            guard let hook = IMAHook(policyName: value) else {
                throw bad(.unknownFunc, value, "unknown func '\(value)'", IMAHook.expectedList, column,
                          candidates: IMAHook.allCases.map(\.rawValue))
            }
            rule.hook = hook
        case .mask:
            guard let mask = IMAPolicyMask(policyValue: value) else {
                throw bad(.unknownMask, value, "unknown mask '\(value)'", IMAPolicyMask.expectedList, column,
                          candidates: IMAPolicyMask.Permission.allCases.map(\.rawValue))
            }
            rule.mask = mask
        case .fsmagic:
            guard let magic = Self.parseFilesystemMagic(value) else {
                throw bad(.invalidFilesystemMagic, value, "fsmagic '\(value)' is not a hexadecimal number",
                          "a hexadecimal magic number such as 0x9fa0 (at most 16 digits)", column)
            }
            rule.fsmagic = magic
        case .fsname:
            rule.fsname = value
        case .fsuuid:
            guard let uuid = IMAFilesystemUUID(value) else {
                throw bad(.invalidUUID, value, "fsuuid '\(value)' is not a UUID", IMAFilesystemUUID.expected, column)
            }
            rule.fsuuid = uuid
        case .uid, .euid, .gid, .egid, .fowner, .fgroup:
            guard value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = UInt32(value),
                  id <= IMAPolicyIDMatch.maximumID else {
                throw bad(.invalidID, value, "\(keyword.rawValue) '\(value)' is not a valid id",
                          "a decimal id from 0 to \(IMAPolicyIDMatch.maximumID)", column)
            }
            let match = IMAPolicyIDMatch(comparison, id)
            switch keyword {
            case .uid: rule.uid = match
            case .euid: rule.euid = match
            case .gid: rule.gid = match
            case .egid: rule.egid = match
            case .fowner: rule.fowner = match
            default: rule.fgroup = match
            }
        case .objUser, .objRole, .objType, .subjUser, .subjRole, .subjType:
            rule.lsmLabels[keyword.lsmField!] = value
        case .keyrings:
            rule.keyrings = try parseNameList(keyword, value, column)
        case .label:
            rule.labels = try parseNameList(keyword, value, column)
        case .digestType:
            guard value == "verity" else {
                throw bad(.unknownDigestType, value, "unknown digest_type '\(value)'", "verity", column,
                          candidates: ["verity"])
            }
            rule.usesVerityDigest = true
        case .appraiseType:
            guard let type = IMAAppraiseType(rawValue: value) else {
                throw bad(.unknownAppraiseType, value, "unknown appraise_type '\(value)'", IMAAppraiseType.expectedList,
                          column, candidates: IMAAppraiseType.allCases.map(\.rawValue))
            }
            rule.appraiseType = type
        case .appraiseFlag:
            // The kernel accepts any value containing "blacklist"; check_blacklist is the documented one.
            guard value.contains("blacklist") else {
                throw bad(.unknownAppraiseFlag, value, "unknown appraise_flag '\(value)'", "check_blacklist", column,
                          candidates: ["check_blacklist"])
            }
            rule.checksBlacklist = true
        case .appraiseAlgos:
            rule.appraiseAlgorithms = try parseAlgorithms(value, column)
        case .pcr:
            guard let pcr = Int(value) else {
                throw bad(.invalidPCR, value, "pcr '\(value)' is not a number", IMAPolicyRule.pcrExpected, column)
            }
            guard IMAPolicyRule.validPCRs.contains(pcr) else {
                throw bad(.pcrOutOfRange, value, "pcr=\(value) is out of range", IMAPolicyRule.pcrExpected, column)
            }
            rule.pcr = pcr
        case .template:
            guard let template = IMATemplate(rawValue: value) else {
                throw bad(.unknownTemplate, value, "unknown template '\(value)'", IMATemplate.expectedList, column,
                          candidates: IMATemplate.allCases.map(\.rawValue))
            }
            rule.template = template
        case .permitDirectio:
            break
        }
    }

    /// `kstrtoul(…, 16, …)`: optional 0x prefix, then hex digits.
    static func parseFilesystemMagic(_ text: String) -> UInt64? {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard (1...16).contains(digits.count), digits.allSatisfy(\.isHexDigit) else { return nil }
        return UInt64(digits, radix: 16)
    }

    private func parseNameList(_ keyword: PolicyKeyword, _ value: String, _ column: Int) throws(PolicyError) -> [String] {
        var names: [String] = []
        var itemColumn = column
        for item in value.split(separator: "|", omittingEmptySubsequences: false) {
            if item.isEmpty {
                throw PolicyError(code: .emptyListItem, line: line, column: itemColumn, token: value,
                                  reason: "\(keyword.spelled) has an empty name", expected: "names separated by |")
            }
            names.append(String(item))
            itemColumn += item.unicodeScalars.count + 1
        }
        return names
    }

    private func parseAlgorithms(_ value: String, _ column: Int) throws(PolicyError) -> Set<HashAlgorithm> {
        var algorithms: Set<HashAlgorithm> = []
        var itemColumn = column
        let names = HashAlgorithm.allCases.map(\.name)
        for item in value.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(item)
            if name.isEmpty {
                throw PolicyError(code: .emptyListItem, line: line, column: itemColumn, token: value,
                                  reason: "appraise_algos= has an empty entry", expected: "names separated by commas")
            }
            // The kernel matches hash_algo_name[] exactly, so no case folding.
            guard let algorithm = HashAlgorithm(name: name), algorithm.name == name else {
                throw bad(.unknownHashAlgorithm, name, "unknown hash algorithm '\(name)' in appraise_algos=",
                          "comma-separated names from " + names.joined(separator: ", "), itemColumn,
                          candidates: names)
            }
            algorithms.insert(algorithm)
            itemColumn += item.unicodeScalars.count + 1
        }
        return algorithms
    }

    private func bad(_ code: PolicyError.Code, _ value: String, _ reason: String, _ expected: String,
                     _ column: Int, candidates: [String] = []) -> PolicyError {
        .badValue(code, value: value, reason: reason, expected: expected, candidates: candidates,
                  line: line, column: column)
    }

    // MARK: Whole rule

    private mutating func finish(first: PolicyToken) throws(PolicyError) -> IMAPolicyRule {
        guard let (finalAction, actionToken) = action else {
            throw PolicyError.missingAction(line: line, column: first.column, token: first.text)
        }
        rule.action = finalAction
        if rule.appraiseType == .sigv3, let digest = seen[.digestType], let type = seen[.appraiseType],
           digest.column > type.column {
            throw PolicyError(code: .wrongOrder, line: line, column: type.column, token: type.text,
                              reason: "appraise_type=sigv3 before digest_type=verity: the kernel only accepts sigv3 after it",
                              expected: "digest_type=verity appraise_type=sigv3")
        }
        if let problem = rule.validationProblem() {
            let token = problem.keyword.flatMap { seen[$0] } ?? actionToken
            throw PolicyError(problem, line: line, column: token.column, token: token.text)
        }
        return rule
    }
}
