/// An IMA policy: the ordered lines of a file written to securityfs
/// `ima/policy`, keeping comments and blank lines so that rendering is
/// deterministic and a generated policy can explain itself.
///
/// Order matters: for each access the kernel walks the rules top to bottom
/// and, per kind of decision (measure, appraise, …), the first matching rule
/// wins. Parsing checks every rule as the kernel would, so a value that exists
/// holds only rules the kernel accepts; `PolicyLinter` then looks for rules
/// that load fine but do not protect what the author likely intended.
public struct IMAPolicy: Hashable, Sendable {
    /// One line of a policy file.
    public enum Entry: Hashable, Sendable {
        case rule(IMAPolicyRule)
        /// A comment line; the text after `#`, verbatim. Must be a single line.
        case comment(String)
        case blank
    }

    /// A rule with the 1-based line it is on (in the parsed text, and in ``render()``).
    public struct NumberedRule: Hashable, Sendable {
        public let line: Int
        public let rule: IMAPolicyRule
    }

    public var entries: [Entry]

    /// A policy of these lines, in order.
    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// A policy of just these rules, one per line.
    public init(rules: [IMAPolicyRule]) {
        self.entries = rules.map(Entry.rule)
    }

    /// Parses policy text, one rule per line; blank lines and lines starting
    /// with `#` are kept as such. Throws at the first line the kernel would
    /// refuse, naming line, column, the token and what was expected.
    public init(parsing text: String) throws(PolicyError) {
        let scalars = Array(text.unicodeScalars)
        var lines = scalars.split(separator: "\n", omittingEmptySubsequences: false)
        if scalars.isEmpty || scalars.last == "\n" { lines.removeLast() }
        var entries: [Entry] = []
        entries.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            entries.append(try PolicyRuleParser.parseLine(line, line: index + 1))
        }
        self.entries = entries
    }

    /// The rules, in order.
    public var rules: [IMAPolicyRule] {
        entries.compactMap { if case .rule(let rule) = $0 { return rule } else { return nil } }
    }

    /// The rules with their line numbers.
    public var numberedRules: [NumberedRule] {
        entries.enumerated().compactMap { index, entry in
            if case .rule(let rule) = entry { return NumberedRule(line: index + 1, rule: rule) }
            return nil
        }
    }

    /// The policy as text: one entry per line, each line ending in a newline.
    /// Rules are written in canonical form; comments as `#` and their text.
    public func render() -> String {
        var text = ""
        for entry in entries {
            switch entry {
            case .rule(let rule): text += rule.render()
            case .comment(let comment): text += "#" + comment
            case .blank: break
            }
            text += "\n"
        }
        return text
    }
}
